/**
 * The bitrate a peer's video starts at, asked for in the descriptions we send.
 *
 * A WebRTC sender starts its bandwidth estimate at 300 kbps and paces its packets from there, so
 * the first seconds of a call are sent for a link much slower than most are: a blocky picture
 * that sharpens as the estimate climbs. libwebrtc (Chrome, Edge, Safari) reads a start value from
 * the `x-google-start-bitrate` parameter of the video codecs in the *remote* description, which
 * is the receiver's word on what it takes, as every `a=fmtp` parameter is. So each side writes
 * it into the offer or answer it sends and the other side's sender starts there. Firefox ignores
 * the parameter. The estimate still adapts to the real link within a second or so.
 */

/** Codecs that carry no picture of their own: retransmission, redundancy and error correction. */
const NOT_A_PICTURE = new Set(['rtx', 'red', 'ulpfec', 'flexfec-03']);

const PARAMETER = 'x-google-start-bitrate';

/**
 * `sdp` with `x-google-start-bitrate=<kbps>` on every video codec of every video section: added
 * to the codec's `a=fmtp` line, or in a new one after its `a=rtpmap` line. A value already there
 * is replaced. Audio, data and the line endings are kept as they are.
 */
export function withStartBitrate(sdp: string, kbps: number): string {
  if (!Number.isInteger(kbps) || kbps <= 0) {
    throw new RangeError(`a start bitrate is a positive whole number of kbps, got ${kbps}`);
  }
  const eol = sdp.includes('\r\n') ? '\r\n' : '\n';
  return sections(sdp.split(eol))
    .flatMap((section) => (section[0]?.startsWith('m=video ') === true ? videoSection(section, kbps) : section))
    .join(eol);
}

/** The session part, then one array of lines per media section. */
function sections(lines: readonly string[]): string[][] {
  const out: string[][] = [[]];
  for (const line of lines) {
    if (line.startsWith('m=')) out.push([]);
    out.at(-1)!.push(line);
  }
  return out;
}

/** A video section with the start bitrate on each of its picture codecs. */
function videoSection(lines: readonly string[], kbps: number): string[] {
  const pictures = new Set<string>();
  for (const line of lines) {
    const rtpmap = /^a=rtpmap:(\d+) ([^/]+)\//.exec(line);
    if (rtpmap !== null && !NOT_A_PICTURE.has(rtpmap[2].toLowerCase())) pictures.add(rtpmap[1]);
  }
  const withFmtp = new Set(lines.flatMap((line) => /^a=fmtp:(\d+) /.exec(line)?.[1] ?? []));
  return lines.flatMap((line) => {
    const fmtp = /^a=fmtp:(\d+) (.*)$/.exec(line);
    if (fmtp !== null && pictures.has(fmtp[1])) {
      const kept = fmtp[2]
        .split(';')
        .filter((parameter) => parameter !== '' && parameter.split('=')[0].trim() !== PARAMETER);
      return [`a=fmtp:${fmtp[1]} ${[...kept, `${PARAMETER}=${kbps}`].join(';')}`];
    }
    const payload = /^a=rtpmap:(\d+) /.exec(line)?.[1];
    return payload !== undefined && pictures.has(payload) && !withFmtp.has(payload)
      ? [line, `a=fmtp:${payload} ${PARAMETER}=${kbps}`]
      : [line];
  });
}
