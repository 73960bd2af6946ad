/**
 * Baseline A: stock socket.io on Node's http server with the `ws` engine, default options
 * (polling and websocket allowed), running the signaling app. Started by bench/run.ts as
 * `node --import tsx bench/servers/socketio-node.ts --port N`; answers `GET /healthz` with 200.
 */
import { createServer } from 'node:http';
import { Server } from 'socket.io';
import { attachSignalingApp, portFromArgv } from './signaling-app.js';

const port = portFromArgv(process.argv);
const httpServer = createServer();
// socket.io only answers its own path; every other request reaches this listener.
httpServer.on('request', (req, res) => {
  if (req.url?.startsWith('/socket.io/')) return;
  res.writeHead(req.url === '/healthz' ? 200 : 404).end();
});
const io = new Server(httpServer);
attachSignalingApp(io);

httpServer.listen(port, '127.0.0.1', () => {
  console.log(`socketio-node listening on 127.0.0.1:${port}`);
});

process.on('SIGTERM', () => {
  void io.close();
  httpServer.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 1000).unref();
});
