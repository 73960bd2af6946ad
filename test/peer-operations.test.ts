/**
 * The peer machine's operations chain (src/machines/peer-operations.ts) as pure functions: which
 * operation may run next, and how negotiation requests merge. The machine's tests show the queue
 * at work; these pin each rule on small queues, including the ones a machine path rarely reaches
 * (a held candidate overtaken by a description, an ICE restart merged into a waiting request).
 */
import { describe, expect, it } from 'vitest';
import {
  nextOperationIndex,
  requestNegotiation,
  withoutOperation,
  type PeerOperation,
} from '../src/machines/peer-operations.js';

const offer: PeerOperation = { type: 'offer', sdp: 'o' };
const answer: PeerOperation = { type: 'answer', sdp: 'a' };
const candidate: PeerOperation = { type: 'candidate', candidate: { candidate: 'c' } };
const endOfCandidates: PeerOperation = { type: 'candidate', candidate: null };
const negotiate: PeerOperation = { type: 'negotiate', iceRestart: false };
const restart: PeerOperation = { type: 'negotiate', iceRestart: true };

describe('nextOperationIndex', () => {
  const open = { remoteDescriptionSet: true, negotiate: true };
  const closed = { remoteDescriptionSet: false, negotiate: false };

  it('is -1 for an empty queue', () => {
    expect(nextOperationIndex([], open)).toBe(-1);
  });

  it('takes descriptions in arrival order whatever the filter', () => {
    expect(nextOperationIndex([offer, answer], closed)).toBe(0);
    expect(nextOperationIndex([answer, offer], closed)).toBe(0);
  });

  it('holds candidates until a remote description is set, letting a later description overtake them', () => {
    expect(nextOperationIndex([candidate, endOfCandidates], closed)).toBe(-1);
    expect(nextOperationIndex([candidate, endOfCandidates, answer], closed)).toBe(2);
    expect(nextOperationIndex([candidate, answer], { remoteDescriptionSet: true, negotiate: false })).toBe(0);
    expect(nextOperationIndex([endOfCandidates], { remoteDescriptionSet: true, negotiate: false })).toBe(0);
  });

  it('holds a negotiation request while an offer may not start, independently of candidates', () => {
    expect(nextOperationIndex([negotiate], { remoteDescriptionSet: true, negotiate: false })).toBe(-1);
    expect(nextOperationIndex([negotiate, candidate], { remoteDescriptionSet: true, negotiate: false })).toBe(1);
    expect(nextOperationIndex([candidate, negotiate], { remoteDescriptionSet: false, negotiate: true })).toBe(1);
    expect(nextOperationIndex([restart, offer], { remoteDescriptionSet: false, negotiate: false })).toBe(1);
    expect(nextOperationIndex([restart, offer], { remoteDescriptionSet: false, negotiate: true })).toBe(0);
  });
});

describe('withoutOperation', () => {
  it('removes exactly the operation at the index, keeping the order of the rest', () => {
    const queue = [offer, candidate, answer];
    expect(withoutOperation(queue, 1)).toEqual([offer, answer]);
    expect(withoutOperation(queue, 0)).toEqual([candidate, answer]);
    expect(withoutOperation(queue, 2)).toEqual([offer, candidate]);
    expect(withoutOperation(queue, -1)).toEqual(queue);
    // The queue is machine context: it is never changed in place.
    expect(queue).toEqual([offer, candidate, answer]);
  });
});

describe('requestNegotiation', () => {
  it('appends a request when none is waiting', () => {
    expect(requestNegotiation([], false)).toEqual([negotiate]);
    expect(requestNegotiation([offer, candidate], true)).toEqual([offer, candidate, restart]);
  });

  it('merges into the request already waiting, in its place', () => {
    expect(requestNegotiation([candidate, negotiate, answer], false)).toEqual([candidate, negotiate, answer]);
  });

  it('never loses an ICE restart: a restart request upgrades a waiting one, a plain request keeps it', () => {
    expect(requestNegotiation([candidate, negotiate, answer], true)).toEqual([candidate, restart, answer]);
    expect(requestNegotiation([restart], false)).toEqual([restart]);
    expect(requestNegotiation([restart], true)).toEqual([restart]);
  });

  it('leaves the queue it was given unchanged', () => {
    const queue = [offer, negotiate];
    requestNegotiation(queue, true);
    requestNegotiation([offer], false);
    expect(queue).toEqual([offer, negotiate]);
  });
});
