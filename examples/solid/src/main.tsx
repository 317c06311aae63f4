import { RealtimeProvider } from '@tanstack/solid-realtime'
import { render } from 'solid-js/web'
// The demo's client module (channels, the tab's user name as token) and its stylesheet.
import { client } from '../../demo/src/client'
import '../../demo/public/style.css'
import { App } from './App'

render(
  () => (
    <RealtimeProvider client={client}>
      <App />
    </RealtimeProvider>
  ),
  document.getElementById('app') as HTMLElement,
)
