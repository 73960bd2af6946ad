import { describe, expect, it } from 'vitest';
import { REDACTED, redactForInspection, summarizeCandidate, summarizeSdp } from '../src/client/inspection-redaction.js';
import { inspectedSnapshot, serializeDefinition } from '../src/client/inspection-conversion.js';

const OFFER = [
  'v=0',
  'o=- 4611731400430051336 2 IN IP4 127.0.0.1',
  'a=fingerprint:sha-256 AB:CD:EF',
  'm=audio 9 UDP/TLS/RTP/SAVPF 111',
  'c=IN IP4 203.0.113.9',
  'a=ice-pwd:asd88fgpdd777uzjYhagZg',
  'm=video 9 UDP/TLS/RTP/SAVPF 96',
  'm=application 9 UDP/DTLS/SCTP webrtc-datachannel',
  '',
].join('\r\n');

describe('redaction of what a browser publishes', () => {
  it('summarizes an SDP as its length and media sections', () => {
    expect(summarizeSdp(OFFER)).toBe(`[SDP, ${OFFER.length} chars: audio video application]`);
    expect(summarizeSdp('')).toBe('[SDP, 0 chars]');
  });

  it('summarizes an ICE candidate as its transport and type, without address or port', () => {
    expect(
      summarizeCandidate('candidate:842163049 1 udp 1677729535 203.0.113.7 46154 typ srflx raddr 0.0.0.0 rport 0'),
    ).toBe('[candidate udp srflx]');
    expect(summarizeCandidate('a=candidate:1 1 TCP 2105524479 192.0.2.1 9 typ host tcptype active')).toBe(
      '[candidate tcp host]',
    );
    expect(summarizeCandidate('')).toBe('[end of candidates]');
  });

  it('redacts secrets, SDPs and candidates wherever they are nested, and keeps the rest', () => {
    const value = {
      type: 'signal.iceServers',
      iceServers: [{ urls: ['turn:t.example.org'], username: '1700000000:peer', credential: 'hmac' }],
      operations: [
        { type: 'offer', sdp: OFFER },
        { type: 'candidate', candidate: { candidate: 'candidate:1 1 udp 1 198.51.100.4 5000 typ relay', sdpMid: '0' } },
      ],
      auth: { room: 'x', secret: 'open sesame' },
      restartAttempts: 2,
      role: undefined,
    };
    const redacted = redactForInspection(value);
    expect(redacted).toEqual({
      type: 'signal.iceServers',
      iceServers: [{ urls: ['turn:t.example.org'], username: '1700000000:peer', credential: REDACTED }],
      operations: [
        { type: 'offer', sdp: `[SDP, ${OFFER.length} chars: audio video application]` },
        { type: 'candidate', candidate: { candidate: '[candidate udp relay]', sdpMid: '0' } },
      ],
      auth: REDACTED,
      restartAttempts: 2,
    });
    expect(JSON.stringify(redacted)).not.toMatch(/hmac|sesame|198\.51|203\.0|ice-pwd|fingerprint/);
  });

  it('cuts long strings, long arrays and deep nesting, and turns errors and functions into plain JSON', () => {
    const deep: Record<string, unknown> = {};
    let cursor = deep;
    for (let i = 0; i < 20; i++) cursor = cursor['next'] = {} as Record<string, unknown>;
    const redacted = redactForInspection(
      {
        text: 'x'.repeat(500),
        items: Array.from({ length: 60 }, (_, i) => i),
        deep,
        error: new TypeError('no peer connection'),
        effect: function restartIce() {},
        count: Number.NaN,
      },
      { maxString: 100, maxItems: 50, maxDepth: 6 },
    ) as Record<string, unknown>;
    expect(redacted['text']).toBe(`${'x'.repeat(100)}… (500 chars)`);
    expect((redacted['items'] as unknown[]).length).toBe(51);
    expect((redacted['items'] as unknown[]).at(-1)).toBe('… 10 more');
    expect(JSON.stringify(redacted['deep'])).toContain('"[…]"');
    expect(redacted['error']).toEqual({ name: 'TypeError', message: 'no peer connection' });
    expect(redacted['effect']).toEqual({ type: 'restartIce' });
    expect(redacted['count']).toBe('NaN');
  });

  it('converts a snapshot to status, value and context only, and a definition with functions as { type }', () => {
    const snapshot = {
      status: 'active',
      value: { session: 'waiting' },
      context: { remoteDescription: { type: 'answer', sdp: OFFER } },
      output: undefined,
      error: undefined,
      children: { a: {} },
      machine: {},
    } as unknown as Parameters<typeof inspectedSnapshot>[0];
    expect(inspectedSnapshot(snapshot)).toEqual({
      status: 'active',
      value: { session: 'waiting' },
      context: { remoteDescription: { type: 'answer', sdp: `[SDP, ${OFFER.length} chars: audio video application]` } },
    });
    expect(
      JSON.parse(serializeDefinition({ id: 'm', on: { go: { guard: function isReady() {}, target: 'b' } } })),
    ).toEqual({ id: 'm', on: { go: { guard: { type: 'isReady' }, target: 'b' } } });
  });
});
