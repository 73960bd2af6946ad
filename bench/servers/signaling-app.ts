/**
 * The signaling app the two socket.io baselines run, written the way a socket.io user would
 * write it: rooms from the handshake query, two peers per room, `ready` to the waiting peer,
 * `data` relayed to the other peer with `socket.to(room)`. It emits the same join events as
 * Parley (`role`, `ice-servers`) so the servers do comparable work per connection.
 */
import type { Server } from 'socket.io';

/** Static ICE servers the baselines hand out; Parley computes TURN credentials instead. */
export const BASELINE_ICE_SERVERS = { iceServers: [{ urls: 'stun:127.0.0.1:3478' }], ttl: 86400 } as const;

const ROOM_CAPACITY = 2;

/** Installs the room and relay handlers on namespace '/' of a socket.io server. */
export function attachSignalingApp(io: Server): void {
  io.on('connection', (socket) => {
    const query = socket.handshake.query['room'];
    const room = typeof query === 'string' && query.length > 0 ? query : 'room';
    const occupants = io.sockets.adapter.rooms.get(room)?.size ?? 0;
    if (occupants >= ROOM_CAPACITY) {
      socket.emit('error', { code: 'room-full', message: `room ${room} already holds two peers` });
      socket.disconnect(true);
      return;
    }
    void socket.join(room);
    socket.emit('role', { room, role: occupants === 0 ? 'impolite' : 'polite' });
    socket.emit('ice-servers', BASELINE_ICE_SERVERS);
    if (occupants === 1) socket.to(room).emit('ready');

    socket.on('data', (payload: unknown) => {
      if (typeof payload !== 'object' || payload === null) return;
      socket.to(room).emit('data', payload);
    });
    socket.on('disconnect', () => {
      socket.to(room).emit('peer-left');
    });
  });
}

/** Parses `--port N` from the command line; the bench picks the port. */
export function portFromArgv(argv: readonly string[]): number {
  const index = argv.indexOf('--port');
  const port = index >= 0 ? Number(argv[index + 1]) : NaN;
  if (!Number.isInteger(port) || port <= 0 || port > 65535) {
    throw new Error(`expected --port N (1-65535), got ${JSON.stringify(argv.slice(2))}`);
  }
  return port;
}
