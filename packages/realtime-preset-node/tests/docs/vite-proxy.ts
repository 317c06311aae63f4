// docs/vite.md: the dev proxy, as pasted.
// vite.config.ts
import { defineConfig } from 'vite'

export default defineConfig({
  server: {
    proxy: {
      // The page talks to its own origin; Vite forwards the WebSocket to the realtime server.
      '/_realtime': { target: 'http://localhost:3001', ws: true },
    },
  },
})
