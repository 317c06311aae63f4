// The packaging test's server: the README's live-collection server (./collections-server.js, made from the README)
// attached to an HTTP server that also serves the page. Prints `{"port":N}` once listening on 127.0.0.1.
import { readFileSync } from 'node:fs'
import { createServer } from 'node:http'
import { server } from './collections-server.js'

const bundle = readFileSync(new URL('./app.js', import.meta.url))
const page =
  '<!doctype html><meta charset="utf-8"><title>Packaging</title><div id="root"></div><script type="module" src="/app.js"></script>'

const httpServer = createServer((req, res) => {
  if (req.url === '/app.js') res.writeHead(200, { 'content-type': 'text/javascript' }).end(bundle)
  else res.writeHead(200, { 'content-type': 'text/html' }).end(page)
})
httpServer.on('upgrade', (req, socket, head) => server.handleUpgrade(req, socket, head))
httpServer.listen(0, '127.0.0.1', () => {
  const address = httpServer.address()
  console.log(JSON.stringify({ port: typeof address === 'object' && address ? address.port : 0 }))
})
