/**
 * The web app's room links (src/client/app/room-link.ts): unguessable fresh room names the
 * server accepts, and the room secret read from the fragment, never from the query.
 */
import { describe, expect, it } from 'vitest';
import {
  isValidRoomName,
  newRoomLink,
  randomRoomName,
  roomFromLink,
  secretFromFragment,
} from '../src/client/app/room-link.js';
import { parseRoomName } from '../src/protocol/signaling-events.js';

/** The parts of `location` and `history` the module uses, over one URL that replaceState updates. */
function page(href: string) {
  const state = { href };
  const location = {
    get href() {
      return state.href;
    },
  } as Location;
  const history = {
    state: null,
    replaceState: (_data: unknown, _unused: string, url: URL | string) => {
      state.href = String(url);
    },
  } as unknown as History;
  return { location, history, href: () => state.href };
}

describe('random room names', () => {
  it('are 22 base64url characters (128 bits) that the server accepts', () => {
    for (let i = 0; i < 200; i++) {
      const name = randomRoomName();
      expect(name).toMatch(/^[A-Za-z0-9_-]{22}$/);
      expect(isValidRoomName(name)).toBe(true);
      expect(parseRoomName(name)).toBe(name);
    }
  });

  it('do not repeat, and use the whole alphabet', () => {
    const names = Array.from({ length: 1000 }, randomRoomName);
    expect(new Set(names).size).toBe(names.length);
    // 22 000 characters from 64 symbols: every symbol shows up.
    expect(new Set(names.join('')).size).toBe(64);
  });
});

describe('the room from a link', () => {
  it('takes ?room= as it is, and the secret from #secret=', () => {
    const { location, history, href } = page('https://call.example/?room=standup-42#secret=s3cr%C3%A9t');
    expect(roomFromLink(location, history)).toEqual({
      room: 'standup-42',
      secret: 's3crét',
      replacedInvalid: undefined,
    });
    expect(href()).toBe('https://call.example/?room=standup-42#secret=s3cr%C3%A9t');
  });

  it('has no secret without a fragment, with an empty one, or with a secret in the query only', () => {
    expect(roomFromLink(page('https://call.example/?room=a').location, page('').history).secret).toBeUndefined();
    expect(secretFromFragment('')).toBeUndefined();
    expect(secretFromFragment('#')).toBeUndefined();
    expect(secretFromFragment('#secret=')).toBeUndefined();
    expect(secretFromFragment('#other=1&secret=x')).toBe('x');
    const { location, history } = page('https://call.example/?room=a&secret=leaky');
    expect(roomFromLink(location, history).secret).toBeUndefined();
  });

  it('picks a fresh room when the link names none or an invalid one, keeps the secret, and records it', () => {
    const { location, history, href } = page('https://call.example/?room=no%20spaces&policy=relay#secret=k');
    const { room, secret, replacedInvalid } = roomFromLink(location, history);
    expect(room).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(secret).toBe('k');
    expect(replacedInvalid).toBe('no spaces');
    const url = new URL(href());
    expect(url.searchParams.get('room')).toBe(room);
    expect(url.searchParams.get('policy')).toBe('relay');
    expect(url.hash).toBe('#secret=k');
  });

  it('links to a new room with the other parameters but without the old room secret', () => {
    const { location } = page('https://call.example/?room=old&policy=relay#secret=k');
    const url = new URL(newRoomLink(location));
    expect(url.searchParams.get('room')).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(url.searchParams.get('policy')).toBe('relay');
    expect(url.hash).toBe('');
  });
});
