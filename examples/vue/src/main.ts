import { RealtimePlugin } from '@tanstack/vue-realtime'
import { createApp } from 'vue'
// The demo's client module (channels, the tab's user name as token) and its stylesheet.
import { client } from '../../demo/src/client'
import '../../demo/public/style.css'
import App from './App.vue'

createApp(App).use(RealtimePlugin, { client }).mount('#app')
