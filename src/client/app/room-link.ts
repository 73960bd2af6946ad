/**
 * The room a page is for, from its link: `?room=NAME`, and optionally `#secret=S`, the room's
 * secret. Without a room the page picks a fresh random one and puts it in the address bar
 * (`history.replaceState`, no reload), so the link the user copies is the link to this call.
 *
 * The secret lives in the fragment because browsers never send a fragment to any server (nor in
 * a Referer), so it reaches the signaling server only inside the CONNECT auth payload, and stays
 * out of proxy and server logs. docs/security.md, "Rooms and secrets", explains both.
 */

const ROOM_NAME = /^[A-Za-z0-9_-]{1,64}$/;

/** Whether `name` is a room name the server accepts (1 to 64 of A-Z a-z 0-9 _ -). */
export function isValidRoomName(name: string): boolean {
  return ROOM_NAME.test(name);
}

/**
 * A fresh room name: 128 random bits as 22 base64url characters, so that nobody finds a room
 * by guessing its name.
 */
export function randomRoomName(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return btoa(String.fromCharCode(...bytes))
    .replaceAll('+', '-')
    .replaceAll('/', '_')
    .replace(/=+$/, '');
}

/**
 * What the link says: a room to join (with its secret, if any), or a `room` that is no room name,
 * with a valid name to suggest instead.
 */
export type RoomFromLink =
  | { readonly kind: 'room'; readonly room: string; readonly secret: string | undefined }
  | { readonly kind: 'invalid'; readonly given: string; readonly suggestion: string };

/**
 * Reads the room from the address. Without one it picks a fresh room and records it in the
 * address bar; an invalid one is reported, with a suggestion, and nothing is joined: a typo
 * must not silently put the user in a different room from the person they are calling.
 */
export function roomFromLink(location: Location, history: History): RoomFromLink {
  const url = new URL(location.href);
  const secret = secretFromFragment(url.hash);
  const named = url.searchParams.get('room');
  if (named !== null && isValidRoomName(named)) return { kind: 'room', room: named, secret };
  if (named !== null) return { kind: 'invalid', given: named, suggestion: suggestRoomName(named) };
  const room = randomRoomName();
  url.searchParams.set('room', room);
  history.replaceState(history.state, '', url);
  return { kind: 'room', room, secret };
}

/**
 * A valid room name close to `name`: accents dropped, every run of other characters turned into
 * one `-`, cut to 64 characters. A name with nothing left to keep gets a fresh random name.
 */
export function suggestRoomName(name: string): string {
  const cleaned = name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[^A-Za-z0-9_-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 64)
    .replace(/-+$/, '');
  return cleaned === '' ? randomRoomName() : cleaned;
}

/** The page's link with `room` in place of its room, keeping the other parameters and the secret. */
export function roomLink(location: Location, room: string): string {
  const url = new URL(location.href);
  url.searchParams.set('room', room);
  return url.href;
}

/** The link to a fresh room, keeping the page's other parameters (such as `policy`) but not the secret. */
export function newRoomLink(location: Location): string {
  const url = new URL(location.href);
  url.searchParams.set('room', randomRoomName());
  url.hash = '';
  return url.href;
}

/** The `secret` parameter of a fragment such as `#secret=S` (form-encoded, like a query), if present and not empty. */
export function secretFromFragment(hash: string): string | undefined {
  const secret = new URLSearchParams(hash.replace(/^#/, '')).get('secret');
  return secret === null || secret === '' ? undefined : secret;
}
