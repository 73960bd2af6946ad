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

/** The room of this page, its secret, and whether the link named a room that had to be replaced. */
export interface RoomFromLink {
  readonly room: string;
  /** The `secret` of the link's fragment, if it has one. */
  readonly secret: string | undefined;
  /** The `room` parameter was present but invalid (a fresh room was picked instead). */
  readonly replacedInvalid: string | undefined;
}

/** Reads the room from the address; picks and records a fresh one when there is none or it is invalid. */
export function roomFromLink(location: Location, history: History): RoomFromLink {
  const url = new URL(location.href);
  const secret = secretFromFragment(url.hash);
  const named = url.searchParams.get('room');
  if (named !== null && isValidRoomName(named)) return { room: named, secret, replacedInvalid: undefined };
  const room = randomRoomName();
  url.searchParams.set('room', room);
  history.replaceState(history.state, '', url);
  return { room, secret, replacedInvalid: named ?? undefined };
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
