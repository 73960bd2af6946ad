/**
 * Baseline B: stock socket.io attached to uWebSockets.js with `io.attachApp(app)`, running the
 * signaling app. Started by bench/run.ts as `node --import tsx bench/servers/socketio-uws.ts
 * --port N`; answers `GET /healthz` with 200.
 */
import { Server } from 'socket.io';
import { uws, uwsIsNative } from '../../src/signaling/uws.js';
import { attachSignalingApp, portFromArgv } from './signaling-app.js';

// A baseline on the JavaScript fallback would flatter Parley; refuse to run one.
if (!uwsIsNative) throw new Error('uWebSockets.js did not load its native binary; this baseline would be meaningless');

const port = portFromArgv(process.argv);
const app = uws.App();
const io = new Server();
io.attachApp(app);
attachSignalingApp(io);
app.get('/healthz', (res) => {
  res.end('ok');
});

app.listen('127.0.0.1', port, (listenSocket) => {
  if (listenSocket === false) {
    console.error(`socketio-uws could not listen on 127.0.0.1:${port}`);
    process.exit(1);
  }
  console.log(`socketio-uws listening on 127.0.0.1:${port}`);
  process.on('SIGTERM', () => {
    void io.close();
    uws.us_listen_socket_close(listenSocket);
    setTimeout(() => process.exit(0), 200).unref();
  });
});
