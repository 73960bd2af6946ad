/**
 * The arguments of `parley serve --redis` for tests that run several Parley processes on one
 * redis-server: a free port, the per-address limits lifted (every test client is 127.0.0.1), and
 * the shortest node TTL.
 */
export function clusterNodeArgs(redisUrl: string, port = 0, extra: readonly string[] = []): string[] {
  return [
    'serve',
    '--port',
    String(port),
    '--redis',
    redisUrl,
    '--max-connections-per-address',
    '100000',
    '--max-sessions-per-address',
    '100000',
    '--handshake-rate',
    '100000',
    // The shortest node TTL, as before it was an option: tests wait past the release bound
    // (TTL + heartbeat, 4 s) rather than the default's 13 s. `extra` may give another.
    '--node-ttl',
    '3',
    ...extra,
  ];
}
