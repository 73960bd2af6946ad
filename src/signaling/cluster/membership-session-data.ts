/**
 * What of a signaling peer's socket data travels to another node when its client recovers its
 * session there (./cluster-sessions.ts), and which seat it stands for. The seat itself (role,
 * partner) is read from the room in Redis again on the new node; the inspector's secrets stay
 * behind.
 */
import type { Membership } from '../signaling-namespace.js';
import type { SessionData } from './cluster-sessions.js';

/** The signaling namespace's {@link SessionData}. */
export const membershipSessionData: SessionData = {
  share(data) {
    const membership = data as Membership | undefined;
    if (membership === undefined) return undefined;
    const { room, key, peerId, tokenPartner } = membership;
    return { room, key, peerId, tokenPartner: tokenPartner ?? null };
  },
  restore(shared) {
    const { room, key, peerId, tokenPartner } = (shared ?? {}) as Record<string, unknown>;
    if (typeof room !== 'string' || typeof key !== 'string' || typeof peerId !== 'string') return undefined;
    return {
      room,
      key,
      peerId,
      arrival: 'recovered',
      tokenPartner: typeof tokenPartner === 'string' ? tokenPartner : undefined,
      secrets: [],
    } satisfies Membership;
  },
  seatOf(data) {
    const membership = data as Membership | undefined;
    return membership === undefined ? undefined : { peerId: membership.peerId, room: membership.key };
  },
};
