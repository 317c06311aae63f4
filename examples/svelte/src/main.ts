import { mount } from 'svelte'
import '../../demo/public/style.css'
import App from './App.svelte'

mount(App, { target: document.getElementById('app') as HTMLElement })
