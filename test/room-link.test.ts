/**
 * The web app's room links (src/client/app/room-link.ts): unguessable fresh room names the
 * server accepts, the room secret read from the fragment, never from the query, and an invalid
 * room name answered with a valid suggestion instead of a silent jump to another room.
 */
import { describe, expect, it } from 'vitest';
import {
  isValidRoomName,
  newRoomLink,
  randomRoomName,
  roomFromLink,
  roomLink,
  secretFromFragment,
  suggestRoomName,
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
    expect(roomFromLink(location, history)).toEqual({ kind: 'room', room: 'standup-42', secret: 's3crét' });
    expect(href()).toBe('https://call.example/?room=standup-42#secret=s3cr%C3%A9t');
  });

  it('has no secret without a fragment, with an empty one, or with a secret in the query only', () => {
    expect(roomFromLink(page('https://call.example/?room=a').location, page('').history)).toEqual({
      kind: 'room',
      room: 'a',
      secret: undefined,
    });
    expect(secretFromFragment('')).toBeUndefined();
    expect(secretFromFragment('#')).toBeUndefined();
    expect(secretFromFragment('#secret=')).toBeUndefined();
    expect(secretFromFragment('#other=1&secret=x')).toBe('x');
    const { location, history } = page('https://call.example/?room=a&secret=leaky');
    expect(roomFromLink(location, history)).toMatchObject({ kind: 'room', secret: undefined });
  });

  it('picks a fresh room when the link names none, keeps the secret, and records it', () => {
    const { location, history, href } = page('https://call.example/?policy=relay#secret=k');
    const link = roomFromLink(location, history);
    expect(link).toMatchObject({ kind: 'room', secret: 'k' });
    const room = link.kind === 'room' ? link.room : '';
    expect(room).toMatch(/^[A-Za-z0-9_-]{22}$/);
    const url = new URL(href());
    expect(url.searchParams.get('room')).toBe(room);
    expect(url.searchParams.get('policy')).toBe('relay');
    expect(url.hash).toBe('#secret=k');
  });

  it('does not replace an invalid room: it reports it with a valid suggestion and leaves the address alone', () => {
    const { location, history, href } = page('https://call.example/?room=Team%20Standup!&policy=relay#secret=k');
    expect(roomFromLink(location, history)).toEqual({
      kind: 'invalid',
      given: 'Team Standup!',
      suggestion: 'Team-Standup',
    });
    expect(href()).toBe('https://call.example/?room=Team%20Standup!&policy=relay#secret=k');
  });

  it('links to the suggested room with the other parameters and the secret', () => {
    const { location } = page('https://call.example/?room=Team%20Standup!&policy=relay#secret=k');
    const url = new URL(roomLink(location, 'Team-Standup'));
    expect(url.searchParams.get('room')).toBe('Team-Standup');
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

describe('room name suggestions', () => {
  it.each([
    ['no spaces', 'no-spaces'],
    ['  Daily stand-up  ', 'Daily-stand-up'],
    ['Café Überraschung', 'Cafe-Uberraschung'],
    ['a/b?c=d', 'a-b-c-d'],
    ['team_42', 'team_42'],
    ['x'.repeat(70), 'x'.repeat(64)],
    [`${'y'.repeat(63)} z`, 'y'.repeat(63)],
  ])('cleans %j to %j', (given, suggestion) => {
    expect(suggestRoomName(given)).toBe(suggestion);
    expect(isValidRoomName(suggestion)).toBe(true);
  });

  it('suggests a fresh random room when nothing of the name can be kept', () => {
    for (const given of ['', '!!!', '日本語', '---']) expect(suggestRoomName(given)).toMatch(/^[A-Za-z0-9_-]{22}$/);
  });

  it('always suggests a name the server accepts', () => {
    for (let i = 0; i < 500; i++) {
      const given = String.fromCodePoint(
        ...Array.from({ length: 1 + (i % 90) }, (_, j) => 32 + ((i * 7919 + j * 104729) % 600)),
      );
      const suggestion = suggestRoomName(given);
      expect(parseRoomName(suggestion)).toBe(suggestion);
    }
  });
});
