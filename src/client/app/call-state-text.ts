/**
 * Human words for the call state, from the peer machine's status summary. Nothing here decides
 * anything about the call; it only names what the machine says.
 */
import { MAX_ICE_RESTARTS } from '../../machines/peer-machine.js';
import type { CallStatus } from '../../machines/peer-status.js';

/**
 * The headline for the call state in plain words, e.g. "In call" or "Connection lost, trying
 * again (1 of 3)": no protocol terms such as ICE.
 */
export function callStateText(call: CallStatus): string {
  switch (call.status) {
    case 'idle':
      return 'Starting';
    case 'joining':
      return 'Joining the room';
    case 'waiting':
      return 'Waiting for someone to join';
    case 'connecting':
      return 'Connecting';
    case 'connected':
      return 'In call';
    case 'reconnecting':
      return call.restartAttempts === 0
        ? 'Connection lost, trying again'
        : `Connection lost, trying again (${call.restartAttempts} of ${MAX_ICE_RESTARTS})`;
    case 'rejected':
      return call.error?.code === 'room-full' ? 'Room is full' : 'Could not join the room';
    case 'failed':
      return 'Call failed';
    case 'closed':
      return 'Call ended';
  }
}

/**
 * The machine's raw state value as one line: each active leaf as a dotted path, parallel regions
 * separated by spaces, e.g. `session.call.negotiation.stable.idle session.call.connection.connected`.
 */
export function rawStateText(value: unknown, prefix = ''): string {
  if (typeof value === 'string') return prefix + value;
  if (typeof value !== 'object' || value === null) return prefix.replace(/\.$/, '');
  return Object.entries(value)
    .map(([key, child]) => rawStateText(child, `${prefix}${key}.`))
    .join(' ');
}
