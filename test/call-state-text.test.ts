/**
 * The call state in words (src/client/app/call-state-text.ts): plain words for every status, with
 * no protocol terms such as ICE, SDP or signaling.
 */
import { describe, expect, it } from 'vitest';
import { callStateText } from '../src/client/app/call-state-text.js';
import { MAX_ICE_RESTARTS } from '../src/machines/peer-machine.js';
import type { CallStatus, CallStatusName } from '../src/machines/peer-status.js';

const STATUSES: readonly CallStatusName[] = [
  'idle',
  'joining',
  'waiting',
  'connecting',
  'connected',
  'reconnecting',
  'rejected',
  'failed',
  'closed',
];

function call(status: CallStatusName, restartAttempts = 0): CallStatus {
  return { status, negotiating: false, role: undefined, room: 'r', restartAttempts, error: undefined };
}

describe('the call state in words', () => {
  it('says a lost connection is being tried again, counting the tries', () => {
    expect(callStateText(call('reconnecting'))).toBe('Connection lost, trying again');
    expect(callStateText(call('reconnecting', 1))).toBe(`Connection lost, trying again (1 of ${MAX_ICE_RESTARTS})`);
  });

  it('uses no jargon for any status', () => {
    for (const status of STATUSES) {
      for (let attempts = 0; attempts <= MAX_ICE_RESTARTS; attempts++) {
        expect(callStateText(call(status, attempts))).not.toMatch(/\b(ICE|SDP|signaling|restart|peer)\b/i);
      }
    }
  });
});
