/**
 * The web app's notice list (src/client/app/notices.ts): one notice per topic, the same notice
 * never twice, and never more than MAX_NOTICES on screen.
 */
import { describe, expect, it } from 'vitest';
import { MAX_NOTICES, withNotice, type Notice, type ShownNotice } from '../src/client/app/notices.js';

const peerLeft: Notice = { kind: 'peer-left', tone: 'info', text: 'The other person left the call.' };
const cameraDenied: Notice = { kind: 'camera-denied', tone: 'warning', text: 'Camera permission was denied.' };
const copied: Notice = { kind: 'link-copied', tone: 'info', text: 'Link copied.', field: 'https://x/?room=a' };
const lost: Notice = { kind: 'signaling-lost', tone: 'warning', text: 'Lost the connection to the server.' };

function show(...steps: [ShownNotice['topic'], Notice][]): readonly ShownNotice[] {
  return steps.reduce<readonly ShownNotice[]>((shown, [topic, notice]) => withNotice(shown, topic, notice), []);
}

describe('the notice list', () => {
  it('shows the same notice once when it is raised twice', () => {
    expect(show(['call', peerLeft], ['call', peerLeft])).toEqual([{ topic: 'call', notice: peerLeft }]);
    expect(show(['link', copied], ['link', copied], ['link', copied])).toHaveLength(1);
  });

  it('shows the same notice once even when raised on two topics, keeping the newest', () => {
    expect(show(['media', lost], ['signaling', lost])).toEqual([{ topic: 'signaling', notice: lost }]);
  });

  it('replaces the notice of a topic with the newest one', () => {
    const failed: Notice = { kind: 'call-failed', tone: 'error', text: 'The call dropped.' };
    expect(show(['call', peerLeft], ['media', cameraDenied], ['call', failed])).toEqual([
      { topic: 'media', notice: cameraDenied },
      { topic: 'call', notice: failed },
    ]);
  });

  it(`keeps at most ${MAX_NOTICES}, dropping the oldest`, () => {
    const shown = show(['media', cameraDenied], ['signaling', lost], ['call', peerLeft], ['link', copied]);
    expect(shown).toHaveLength(MAX_NOTICES);
    expect(shown.map((entry) => entry.notice.kind)).toEqual(['signaling-lost', 'peer-left', 'link-copied']);
  });

  it('tells apart notices of one kind with different words', () => {
    const other: Notice = { ...lost, text: 'Lost the connection to the server (attempt 2).' };
    expect(show(['media', lost], ['sound', other])).toHaveLength(2);
  });
});
