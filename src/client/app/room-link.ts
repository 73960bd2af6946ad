/**
 * The room a page is for, from its link: `?room=NAME`. Without one the page picks a fresh random
 * room and puts it in the address bar (`history.replaceState`, no reload), so the link the user
 * copies is the link to this call.
 */

const ROOM_NAME = /^[A-Za-z0-9_-]{1,64}$/;

/** Whether `name` is a room name the server accepts (1 to 64 of A-Z a-z 0-9 _ -). */
export function isValidRoomName(name: string): boolean {
  return ROOM_NAME.test(name);
}

/** A fresh room name: 10 characters from a URL-safe alphabet, about 60 bits of randomness. */
export function randomRoomName(): string {
  const alphabet = 'abcdefghijkmnpqrstuvwxyz23456789';
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return Array.from(bytes, (byte) => alphabet[byte % alphabet.length]).join('');
}

/** The room of this page, and whether the link named a room that had to be replaced. */
export interface RoomFromLink {
  readonly room: string;
  /** The `room` parameter was present but invalid (a fresh room was picked instead). */
  readonly replacedInvalid: string | undefined;
}

/** Reads the room from the address; picks and records a fresh one when there is none or it is invalid. */
export function roomFromLink(location: Location, history: History): RoomFromLink {
  const url = new URL(location.href);
  const named = url.searchParams.get('room');
  if (named !== null && isValidRoomName(named)) return { room: named, replacedInvalid: undefined };
  const room = randomRoomName();
  url.searchParams.set('room', room);
  history.replaceState(history.state, '', url);
  return { room, replacedInvalid: named ?? undefined };
}

/** The link to a fresh room, keeping the page's other parameters (such as `policy`). */
export function newRoomLink(location: Location): string {
  const url = new URL(location.href);
  url.searchParams.set('room', randomRoomName());
  return url.href;
}
