/**
 * Seeded generators of malformed Engine.IO / Socket.IO input for the fuzz test: random bytes,
 * mutations (truncation, bit flips, insertions, splices) of valid packets, and hand-written
 * nasties (the two-byte '42', deep nesting, huge names, absurd ack ids, binary headers without
 * attachments, attachments without headers, probe frames on a main socket, ...).
 *
 * Same seed, same sequence: a failure is replayed by running the fuzz with its printed seed.
 */

/** A small, fast, seeded PRNG (mulberry32). */
export class Prng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }
}

/** One generated WebSocket frame: text or binary, and which generator made it. */
export interface FuzzFrame {
  readonly data: string | Buffer;
  readonly kind: FuzzKind;
}

/** Generator families, for the counts the test prints. */
export type FuzzKind = 'random' | 'mutated' | 'nasty' | 'valid';

const PLACEHOLDER = (num: unknown) => `{"_placeholder":true,"num":${JSON.stringify(num)}}`;
const CANDIDATE =
  '{"type":"candidate","candidate":{"candidate":"candidate:1 1 udp 1 127.0.0.1 9 typ host","sdpMid":"0","sdpMLineIndex":0}}';

/** Socket.IO packets as text (without the Engine.IO '4' prefix), valid or nearly. */
const SOCKET_IO_SEEDS: readonly string[] = [
  '0',
  '0{}',
  '0{"room":"fuzz-a"}',
  '0{"room":"fuzz-b"}',
  '0/,',
  '0/nsp,{}',
  '1',
  '1/nsp,',
  `2["data",${CANDIDATE}]`,
  `21["data",${CANDIDATE}]`,
  '2["data",{"type":"offer","sdp":"v=0\\r\\no=- 1 2 IN IP4 127.0.0.1\\r\\n"}]',
  '2["data",{"type":"answer","sdp":""}]',
  '2["data",{"type":"candidate","candidate":null}]',
  '2["leave"]',
  '27["leave"]',
  '2["unknown-event",1,2,3]',
  '2/nsp,["data",{}]',
  '3[]',
  '31["x"]',
  '4{"message":"x"}',
  `51-["data",${PLACEHOLDER(0)}]`,
  `52-["data",${PLACEHOLDER(0)},${PLACEHOLDER(1)}]`,
  `51-1["data",${PLACEHOLDER(0)}]`,
  `61-1[${PLACEHOLDER(0)}]`,
];

/** Engine.IO packets that are not messages. */
const ENGINE_IO_SEEDS: readonly string[] = ['1', '2', '3', '5', '6', '2probe', '3probe', '0', '0{"sid":"x"}'];

function deep(open: string, close: string, depth: number, inner = '0'): string {
  return open.repeat(depth) + inner + close.repeat(depth);
}

/** Hand-written nasties, as Engine.IO text frames (with their '4' where they are messages). */
function nasties(rng: Prng): string {
  // The giants are rare: they cost the fuzzer (masking) more than the server.
  const depth = rng.chance(0.03) ? 100_000 : rng.pick([33, 64, 1000, 5000]);
  const nameLength = rng.chance(0.03) ? 400_000 : rng.pick([129, 1000, 20_000]);
  const hugeId = rng.pick(['2147483648', '99999999999999999999', '9'.repeat(400), '00000000000000000000001']);
  const choices: Array<() => string> = [
    () => '42',
    () => '4',
    () => '',
    () => '43',
    () => '45',
    () => '46',
    () => '47',
    () => '4\u0000',
    () => '42[]',
    () => '42[1,2]',
    () => '42[null]',
    () => '42[{"toString":1}]',
    () => '42[[]]',
    () => '42["data"]',
    () => '42["data",null]',
    () => '42["data",1e999]',
    () => '42["data",-0]',
    () => '42["\ud800"]',
    () => '42["data",{"type":"offer","sdp":"\udfff"}]',
    () => '42["__proto__"]',
    () => '42["constructor",{}]',
    () => '42["hasOwnProperty"]',
    () => '42["data",{"__proto__":{"type":"offer"},"type":"candidate","candidate":{"__proto__":null,"candidate":"x"}}]',
    () => `42["data",${deep('[', ']', depth)}]`,
    () => `42["data",${deep('{"a":', '}', depth)}]`,
    () => `42["data",{"type":"offer","sdp":"x","extra":${deep('[', ']', depth)}}]`,
    () => `42["data",{"type":"offer","sdp":"x"},${deep('[', ']', depth)}]`,
    () => `42${deep('[', ']', depth, '"data"')}`,
    () => `40${deep('{"a":', '}', depth, '1')}`,
    () => `42["${'n'.repeat(nameLength)}"]`,
    () => `42["${'n'.repeat(nameLength)}",${CANDIDATE}]`,
    () => `42${hugeId}["data",${CANDIDATE}]`,
    () => `43${hugeId}[]`,
    () => '43Infinity[]',
    () => '431e400[]',
    () => '42-1["data"]',
    () => '4212.5["data"]',
    () => '420x10["data"]',
    () => `45${rng.pick(['99999999', '11', '-1', 'abc', '1e3', ''])}-["data",${PLACEHOLDER(0)}]`,
    () => `451-["data",${PLACEHOLDER(rng.pick([5, -1, 1e9, '0', null, '__proto__', 0.5]))}]`,
    () => `451-["data",{"_placeholder":true}]`,
    () => `451-["data",{"_placeholder":"yes","num":0}]`,
    () => `450-["data",${PLACEHOLDER(0)}]`,
    () => `461-${hugeId}[${PLACEHOLDER(0)}]`,
    () => `40{"room":"control-${rng.pick(['ws', 'poll', 'mixed'])}"}`,
    () => '40{"room":{"toString":"x"}}',
    () => '40[]',
    () => '40"x"',
    () => '40null',
    () => '40/nonexistent,',
    () => `40/${'x'.repeat(rng.pick([100, 10_000]))},`,
    () => '4/,',
    () => '40/,{}',
    () => '42/nonexistent,["data"]',
    () => '41/nonexistent,',
    () => '2probe',
    () => '3probe',
    () => '5',
    () => '5probe',
    () => '0',
    () => '0{"sid":"stolen","upgrades":[]}',
    () => '2',
    () => '3',
    () => '6',
    () => '1',
    () => '\x1e',
    () => '4' + '\x1e'.repeat(10),
    () => `42["data",{"type":"offer","sdp":"${'x'.repeat(rng.chance(0.1) ? 100_000 : 1000)}"}]`,
  ];
  return rng.pick(choices)();
}

/** Random text: code points from ranges that parsers trip on, lone surrogates included. */
function randomText(rng: Prng, maxLength: number): string {
  const length = rng.int(maxLength + 1);
  let text = '';
  for (let i = 0; i < length; i++) {
    const range = rng.int(6);
    if (range < 3) text += String.fromCharCode(32 + rng.int(95));
    else if (range === 3) text += rng.pick(['[', ']', '{', '}', '"', ',', ':', '\\', '-', '/', '\x1e', '4', '2', '5']);
    else if (range === 4) text += String.fromCharCode(rng.int(32));
    else text += String.fromCharCode(rng.int(0x10000));
  }
  return text;
}

function randomBytes(rng: Prng, maxLength: number): Buffer {
  const bytes = Buffer.alloc(rng.int(maxLength + 1));
  for (let i = 0; i < bytes.length; i++) bytes[i] = rng.int(256);
  return bytes;
}

/** One mutation of `text`: truncate, flip a bit, insert, delete, duplicate, or splice. */
function mutate(rng: Prng, text: string): string {
  if (text.length === 0) return randomText(rng, 8);
  const at = rng.int(text.length);
  switch (rng.int(6)) {
    case 0:
      return text.slice(0, at);
    case 1: {
      const code = text.charCodeAt(at) ^ (1 << rng.int(8));
      return text.slice(0, at) + String.fromCharCode(code) + text.slice(at + 1);
    }
    case 2:
      return text.slice(0, at) + randomText(rng, 4) + text.slice(at);
    case 3:
      return text.slice(0, at) + text.slice(at + 1 + rng.int(8));
    case 4: {
      const end = Math.min(text.length, at + 1 + rng.int(16));
      return text.slice(0, end) + text.slice(at, end) + text.slice(end);
    }
    default: {
      const other = '4' + rng.pick(SOCKET_IO_SEEDS);
      return text.slice(0, at) + other.slice(rng.int(other.length));
    }
  }
}

function validMessage(rng: Prng): string {
  return rng.chance(0.85) ? '4' + rng.pick(SOCKET_IO_SEEDS) : rng.pick(ENGINE_IO_SEEDS);
}

/** The next WebSocket frame of the fuzz. */
export function nextWebSocketFrame(rng: Prng): FuzzFrame {
  const roll = rng.next();
  if (roll < 0.15) {
    return { data: rng.chance(0.5) ? randomBytes(rng, 48) : randomText(rng, 48), kind: 'random' };
  }
  if (roll < 0.55) {
    let text = validMessage(rng);
    const rounds = 1 + rng.int(3);
    for (let i = 0; i < rounds; i++) text = mutate(rng, text);
    return { data: text, kind: 'mutated' };
  }
  if (roll < 0.85) {
    // A binary attachment where none was announced is one of the nasties too.
    if (rng.chance(0.08)) return { data: randomBytes(rng, 32), kind: 'nasty' };
    return { data: nasties(rng), kind: 'nasty' };
  }
  return { data: validMessage(rng), kind: 'valid' };
}

/** One generated polling POST body. */
export interface FuzzBody {
  readonly body: string | Buffer;
  readonly kind: FuzzKind;
}

function asPollingPacket(rng: Prng, frame: FuzzFrame): string {
  if (typeof frame.data === 'string') return frame.data;
  // Binary over polling is 'b' + base64 (sometimes broken base64).
  return rng.chance(0.8) ? 'b' + frame.data.toString('base64') : 'b' + randomText(rng, 12);
}

/**
 * The next polling POST body: several packets joined with the record separator, at least one
 * of them malformed, sometimes preceded by a CONNECT so the garbage reaches a joined socket.
 */
export function nextPollingBody(rng: Prng): FuzzBody {
  const roll = rng.next();
  if (roll < 0.1) return { body: rng.chance(0.5) ? randomBytes(rng, 64) : randomText(rng, 64), kind: 'random' };
  const packets: string[] = [];
  if (rng.chance(0.5)) packets.push(rng.pick(['40', '40{"room":"fuzz-poll"}', '40{"room":"fuzz-a"}']));
  const count = 1 + rng.int(4);
  let kind: FuzzKind = 'valid';
  for (let i = 0; i < count; i++) {
    const frame = nextWebSocketFrame(rng);
    if (frame.kind !== 'valid') kind = frame.kind;
    packets.push(asPollingPacket(rng, frame));
  }
  if (kind === 'valid') {
    packets.push(nasties(rng));
    kind = 'nasty';
  }
  let body = packets.join('\x1e');
  if (rng.chance(0.15)) {
    body = mutate(rng, body);
    kind = 'mutated';
  }
  if (rng.chance(0.05)) body = rng.pick(['\x1e\x1e', body + '\x1e', '\x1e' + body, body.replace(/\x1e/g, '\x1e\x1e')]);
  return { body, kind };
}
