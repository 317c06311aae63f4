import { RealtimeProvider } from '@tanstack/react-realtime'
import { StrictMode } from 'react'
import { createRoot } from 'react-dom/client'
import { App } from './App'
import { client } from './client'

createRoot(document.getElementById('root') as HTMLElement).render(
  <StrictMode>
    <RealtimeProvider client={client}>
      <App />
    </RealtimeProvider>
  </StrictMode>,
)
