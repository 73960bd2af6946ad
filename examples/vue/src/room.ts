/**
 * The room of this page: `?room=NAME`, or a fresh random one (128 bits, base64url) put into the
 * address bar, so the link to share is the link to this call.
 */
export function roomFromAddress(): string {
  const url = new URL(location.href);
  const named = url.searchParams.get('room');
  if (named !== null && /^[A-Za-z0-9_-]{1,64}$/.test(named)) return named;
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  const room = btoa(String.fromCharCode(...bytes))
    .replaceAll('+', '-')
    .replaceAll('/', '_')
    .replace(/=+$/, '');
  url.searchParams.set('room', room);
  history.replaceState(history.state, '', url);
  return room;
}

/** The signaling server: `?server=URL`, else this page's origin (the dev server proxies `/socket.io`). */
export function signalingServer(): string {
  return new URLSearchParams(location.search).get('server') ?? location.origin;
}
