/**
 * The server of the recovery churn benchmark (bench/recovery-churn.ts): Parley's protocol
 * engine with one namespace that emits numbered events (`n`, 1, 2, ...) to each client at a
 * steady rate, counting per client (its index, from the CONNECT auth), whether the client is
 * connected, held (recovery on: the emit is retained) or away (recovery off: the event is lost).
 * Forked with its ChurnServerConfig as JSON argument; listens on a free loopback port.
 */
import { ProtocolServer } from '../../src/signaling/engine/protocol-server.js';
import type { NamespaceHandler, ServerSocket } from '../../src/signaling/engine/namespace-handler.js';
import { uws } from '../../src/signaling/uws.js';
import type { ChurnServerCommand, ChurnServerConfig, ChurnServerReport } from '../recovery-churn-protocol.js';

const config = JSON.parse(process.argv[2] ?? '{}') as ChurnServerConfig;

function report(message: ChurnServerReport): void {
  process.send?.(message);
}

/** Each client's socket (live or held), by client index. */
const socketOf = new Map<number, ServerSocket>();
const generated: number[] = [];
let recovered = 0;
let fresh = 0;

function clientIndexOf(socket: ServerSocket): number | undefined {
  const index = (socket.handshake.auth as { client?: unknown }).client;
  return typeof index === 'number' && Number.isInteger(index) && index >= 0 ? index : undefined;
}

const churn: NamespaceHandler = {
  connect(socket) {
    const index = clientIndexOf(socket);
    if (index === undefined) return { message: 'no client index' };
    if (socket.recovered) recovered += 1;
    else fresh += 1;
    socketOf.set(index, socket);
    generated[index] ??= 0;
    return undefined;
  },
  connected() {},
  event() {},
  disconnect(socket, _reason, held) {
    const index = clientIndexOf(socket);
    if (!held && index !== undefined && socketOf.get(index) === socket) socketOf.delete(index);
  },
  expired(socket) {
    const index = clientIndexOf(socket);
    if (index !== undefined && socketOf.get(index) === socket) socketOf.delete(index);
  },
  rateLimited() {},
};

const engine = new ProtocolServer({
  // One address opens every session: the per-address limits are lifted, the checks still run.
  maxConnectionsPerAddress: 1_000_000,
  maxSessionsPerAddress: 1_000_000,
  handshakeRate: 1_000_000,
  handshakeBurst: 1_000_000,
  connectionStateRecovery:
    config.recoveryWindowMillis > 0 ? { maxDisconnectionDuration: config.recoveryWindowMillis } : false,
});
engine.of('/', churn);
const app = uws.App();
engine.attach(app);

let timer: NodeJS.Timeout | undefined;

/** One tick: the next number to every client that ever connected, connected or not. */
function emitToAll(): void {
  for (let index = 0; index < generated.length; index++) {
    if (generated[index] === undefined) continue;
    const n = (generated[index] += 1);
    socketOf.get(index)?.emit('n', n);
  }
}

process.on('message', (command: ChurnServerCommand) => {
  if (command.type === 'emit') {
    timer ??= setInterval(emitToAll, 1000 / config.eventsPerSecond);
  } else {
    clearInterval(timer);
    report({ type: 'stopped', generated: Array.from(generated, (n) => n ?? 0), recovered, fresh });
  }
});

app.listen('127.0.0.1', 0, (token) => {
  if (token === false) {
    console.error('recovery-churn-server could not listen');
    process.exit(1);
  }
  report({ type: 'listening', port: uws.us_socket_local_port(token) });
  process.on('disconnect', () => {
    engine.close();
    uws.us_listen_socket_close(token);
    process.exit(0);
  });
});
