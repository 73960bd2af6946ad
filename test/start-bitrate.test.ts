import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { withStartBitrate } from '../src/client/start-bitrate.js';
import { CHROMIUM_OFFER } from './helpers/sdp.js';

/** The media sections of an SDP, each as its lines. */
function sectionsOf(sdp: string): string[][] {
  return sdp
    .split('\r\n')
    .join('\n')
    .split('\nm=')
    .slice(1)
    .map((section) => `m=${section}`.split('\n'));
}

/** Each video codec's payload and name in a section, and the fmtp parameters of each payload. */
function codecsOf(section: readonly string[]) {
  const names = new Map<string, string>();
  const parameters = new Map<string, string[]>();
  for (const line of section) {
    const rtpmap = /^a=rtpmap:(\d+) ([^/]+)\//.exec(line);
    if (rtpmap) names.set(rtpmap[1], rtpmap[2]);
    const fmtp = /^a=fmtp:(\d+) (.*)$/.exec(line);
    if (fmtp) parameters.set(fmtp[1], [...(parameters.get(fmtp[1]) ?? []), ...fmtp[2].split(';')]);
  }
  return { names, parameters };
}

describe('the start bitrate asked for in a description', () => {
  it('puts it on every picture codec of a real offer, and on nothing else', () => {
    const munged = withStartBitrate(CHROMIUM_OFFER, 1000);
    const before = sectionsOf(CHROMIUM_OFFER);
    const after = sectionsOf(munged);
    expect(after.map((section) => section[0].split(' ')[0])).toEqual(['m=audio', 'm=video', 'm=application']);
    // Audio and data: untouched.
    expect(after[0]).toEqual(before[0]);
    expect(after[2]).toEqual(before[2]);
    const { names, parameters } = codecsOf(after[1]);
    expect([...names.values()]).toEqual(expect.arrayContaining(['VP8', 'VP9', 'H264', 'AV1', 'rtx', 'red', 'ulpfec']));
    for (const [payload, name] of names) {
      const start = (parameters.get(payload) ?? []).filter((parameter) =>
        parameter.startsWith('x-google-start-bitrate='),
      );
      expect({ name, start }).toEqual({
        name,
        start: ['rtx', 'red', 'ulpfec'].includes(name) ? [] : ['x-google-start-bitrate=1000'],
      });
    }
    // The codecs' own parameters stay, in their order.
    const { parameters: original } = codecsOf(before[1]);
    for (const [payload, list] of original) expect(parameters.get(payload)!.slice(0, list.length)).toEqual(list);
    // The lines still end in CRLF, and only fmtp lines are new or changed.
    expect(munged.endsWith('\r\n')).toBe(true);
    expect(
      munged
        .split('\r\n')
        .filter((line) => !CHROMIUM_OFFER.split('\r\n').includes(line))
        .every((line) => line.startsWith('a=fmtp:')),
    ).toBe(true);
  });

  it('adds an fmtp line after the rtpmap of a codec that had none (VP8 in Chromium)', () => {
    const munged = withStartBitrate(CHROMIUM_OFFER, 800).split('\r\n');
    const vp8 = /^a=rtpmap:(\d+) VP8\/90000$/.exec(munged.find((line) => / VP8\/90000$/.test(line))!)![1];
    expect(CHROMIUM_OFFER).not.toContain(`a=fmtp:${vp8} `);
    expect(munged[munged.indexOf(`a=rtpmap:${vp8} VP8/90000`) + 1]).toBe(`a=fmtp:${vp8} x-google-start-bitrate=800`);
  });

  it('replaces a value that is there, so applying it twice is applying it once', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 100_000 }), fc.integer({ min: 1, max: 100_000 }), (first, second) => {
        expect(withStartBitrate(withStartBitrate(CHROMIUM_OFFER, first), second)).toBe(
          withStartBitrate(CHROMIUM_OFFER, second),
        );
      }),
    );
  });

  it('keeps bare line feeds, and a description without video as it is', () => {
    const lf = CHROMIUM_OFFER.split('\r\n').join('\n');
    expect(withStartBitrate(lf, 1000)).toBe(withStartBitrate(CHROMIUM_OFFER, 1000).split('\r\n').join('\n'));
    const audioOnly = CHROMIUM_OFFER.slice(0, CHROMIUM_OFFER.indexOf('m=video'));
    expect(withStartBitrate(audioOnly, 1000)).toBe(audioOnly);
  });

  it('refuses a value that is not a positive whole number of kbps', () => {
    for (const bad of [0, -5, 1.5, Number.NaN]) expect(() => withStartBitrate(CHROMIUM_OFFER, bad)).toThrow(RangeError);
  });
});
