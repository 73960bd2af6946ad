/**
 * The adapter's media paths on the fake peer connection: device switches and screen sharing
 * through `replaceTrack` with no renegotiation, screen sharing from a call without a camera
 * (a video transceiver that starts and stops sending, renegotiated), the media-state message
 * both ways, and every local track released on hang-up, dispose and a refused join.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SimulatedClock } from 'xstate';
import { createPeerAdapter } from '../src/client/peer-adapter.js';
import { mediaStateMessage, parseMediaState } from '../src/client/peer-media.js';
import { flush } from './helpers/fake-peer-effects.js';
import { createFakeRtc, type FakePeerConnection, type FakeRtpTransceiver } from './helpers/fake-peer-connection.js';
import { fakeMediaDevices, fakeStream, fakeTrack, type FakeMediaStreamTrack } from './helpers/fake-media.js';
import { fakeSocketFactory } from './helpers/fake-signaling.js';

function setup(options: { video?: boolean; displayName?: string } = {}) {
  const rtc = createFakeRtc();
  const sockets = fakeSocketFactory();
  const warnings: string[] = [];
  const devices = fakeMediaDevices();
  const initial = [fakeTrack('audio', 'mic-1'), ...(options.video === false ? [] : [fakeTrack('video', 'cam-1')])];
  const stream = fakeStream(initial);
  const adapter = createPeerAdapter({
    room: 'kitchen',
    connectSocket: sockets.connect,
    RTCPeerConnection: rtc.RTCPeerConnection,
    localStream: stream,
    mediaDevices: devices.mediaDevices,
    clock: new SimulatedClock(),
    onWarning: (message) => warnings.push(message),
    ...(options.displayName === undefined ? {} : { displayName: options.displayName }),
  });
  const socket = () => sockets.sockets.at(-1)!;
  const pc = () => rtc.connections.at(-1)!;
  /** Every local track there ever was: the first ones and each the fake devices gave. */
  const allTracks = (): FakeMediaStreamTrack[] => [...initial, ...devices.given];
  return { rtc, sockets, warnings, devices, initial, stream, adapter, socket, pc, allTracks };
}

async function connected(options: { video?: boolean; displayName?: string } = {}) {
  const t = setup(options);
  t.adapter.join();
  t.socket().deliver('role', { room: 'kitchen', role: 'impolite' });
  await flush();
  t.socket().deliver('ready');
  await flush();
  t.socket().deliver('data', { type: 'answer', sdp: 'their answer' });
  await flush();
  await flush();
  expect(t.pc().connectionState).toBe('connected');
  return t;
}

const mediaChannel = (pc: FakePeerConnection) => pc.channels.find((channel) => channel.label === 'media')!;
const sentStates = (pc: FakePeerConnection) => mediaChannel(pc).sent.map((text) => parseMediaState(text));
const videoSender = (pc: FakePeerConnection) => pc.senders.find((sender) => sender.track?.kind === 'video')!;
const audioSender = (pc: FakePeerConnection) => pc.senders.find((sender) => sender.track?.kind === 'audio')!;
const videoTransceivers = (pc: FakePeerConnection): FakeRtpTransceiver[] =>
  pc.transceivers.filter((transceiver) => transceiver.receiver.track.kind === 'video');

/** Lets the machine make the offer a change needs, and answers it. */
async function answered(t: ReturnType<typeof setup>): Promise<void> {
  await flush();
  t.socket().deliver('data', { type: 'answer', sdp: 'their answer' });
  await flush();
  await flush();
}

/** What proves a renegotiation: an offer made or sent. */
function negotiations(t: ReturnType<typeof setup>) {
  return {
    offers: t.pc().calls.filter((call) => call.method === 'createOffer' || call.method === 'setLocalDescription')
      .length,
    sent: t
      .socket()
      .sentSignals()
      .filter((signal) => signal.type === 'offer').length,
  };
}

describe('peer adapter media', () => {
  it('sends its media state when the channel opens, and on every change only', async () => {
    const t = await connected({ displayName: '  Ada\u0007 Lovelace ' });
    expect(sentStates(t.pc())).toEqual([
      { name: 'Ada Lovelace', camera: 'on', microphone: 'on', screenSharing: false },
    ]);
    t.adapter.setMicEnabled(false);
    t.adapter.setMicEnabled(false); // no change: nothing sent
    t.adapter.setCameraEnabled(false);
    t.adapter.setDisplayName('Grace');
    expect(sentStates(t.pc()).slice(1)).toEqual([
      { name: 'Ada Lovelace', camera: 'on', microphone: 'off', screenSharing: false },
      { name: 'Ada Lovelace', camera: 'off', microphone: 'off', screenSharing: false },
      { name: 'Grace', camera: 'off', microphone: 'off', screenSharing: false },
    ]);
    expect(t.adapter.getSnapshot().local).toEqual({
      audio: false,
      video: false,
      screen: false,
      hasCamera: true,
      hasMicrophone: true,
      name: 'Grace',
    });
  });

  it('says it is audio only when it has no camera', async () => {
    const t = await connected({ video: false });
    expect(sentStates(t.pc())).toEqual([{ name: '', camera: 'none', microphone: 'on', screenSharing: false }]);
  });

  it('shares the screen from a call without a camera on a new video transceiver, renegotiated, and stops sending after', async () => {
    const t = await connected({ video: false });
    const before = negotiations(t);
    await t.adapter.startScreenShare();
    const screen = t.devices.given[0];
    const [video] = videoTransceivers(t.pc());
    expect(video).toMatchObject({ direction: 'sendrecv' });
    expect(video?.sender.track).toBe(screen);
    expect(t.stream.getVideoTracks()).toEqual([screen]);
    expect(t.adapter.getSnapshot().local).toMatchObject({ video: true, screen: true, hasCamera: false });
    expect(sentStates(t.pc()).at(-1)).toEqual({ name: '', camera: 'none', microphone: 'on', screenSharing: true });
    await answered(t);
    expect(negotiations(t).sent).toBe(before.sent + 1);

    await t.adapter.stopScreenShare();
    expect(video).toMatchObject({ direction: 'recvonly' });
    expect(video?.sender.track).toBeNull();
    expect(screen.readyState).toBe('ended');
    expect(t.stream.getVideoTracks()).toEqual([]);
    expect(t.adapter.getSnapshot().local).toMatchObject({ video: false, screen: false });
    expect(sentStates(t.pc()).at(-1)).toMatchObject({ camera: 'none', screenSharing: false });
    await answered(t);
    expect(negotiations(t).sent).toBe(before.sent + 2);

    // Sharing again reuses the transceiver: no new media section.
    await t.adapter.startScreenShare();
    expect(videoTransceivers(t.pc())).toEqual([video]);
    expect(video).toMatchObject({ direction: 'sendrecv' });
    expect(video?.sender.track).toBe(t.devices.given[1]);
    await answered(t);
    expect(negotiations(t).sent).toBe(before.sent + 3);
    expect(t.rtc.violations).toEqual([]);
    expect(t.warnings).toEqual([]);
  });

  it("shares the screen from a call without a camera on the video section the other side's offer brought", async () => {
    const t = await connected({ video: false });
    const theirs = t.pc().addRemoteTransceiver('video');
    const before = negotiations(t);
    await t.adapter.startScreenShare();
    const screen = t.devices.given[0];
    expect(videoTransceivers(t.pc())).toEqual([theirs]);
    expect(theirs.direction).toBe('sendrecv');
    expect(theirs.sender.track).toBe(screen);
    // The other side's `ontrack` names our stream, as for our microphone.
    expect(theirs.sender.streams).toEqual([t.stream]);
    await answered(t);
    expect(negotiations(t).sent).toBe(before.sent + 1);

    // The browser's own "Stop sharing" ends the track: the section receives only again.
    screen.end();
    await flush();
    expect(theirs.direction).toBe('recvonly');
    expect(theirs.sender.track).toBeNull();
    expect(t.adapter.getSnapshot().local.screen).toBe(false);
    expect(t.rtc.violations).toEqual([]);
  });

  it('sends a screen shared without a camera on the next peer connection too, and stops it there', async () => {
    const t = await connected({ video: false });
    await t.adapter.startScreenShare();
    const screen = t.devices.given[0];
    await answered(t);
    const first = t.pc();
    t.socket().deliver('peer-left');
    await flush();
    expect(t.pc()).not.toBe(first);
    const [video] = videoTransceivers(t.pc());
    expect(video?.sender.track).toBe(screen);
    await t.adapter.stopScreenShare();
    expect(video).toMatchObject({ direction: 'recvonly' });
    expect(video?.sender.track).toBeNull();
    expect(t.warnings).toEqual([]);
  });

  it("shows the other side's media state, and ignores malformed messages with a warning", async () => {
    const t = await connected();
    const channel = mediaChannel(t.pc());
    channel.receive(mediaStateMessage({ name: 'Bob', camera: 'off', microphone: 'off', screenSharing: false }));
    expect(t.adapter.getSnapshot().remote).toEqual({
      audio: false,
      video: false,
      screen: false,
      hasCamera: true,
      hasMicrophone: true,
      name: 'Bob',
    });
    const before = t.adapter.getSnapshot();
    for (const malformed of [
      'hello',
      '{',
      'null',
      '[]',
      JSON.stringify({ type: 'chat', text: 'hi' }),
      JSON.stringify({ type: 'media-state', name: 'Eve', camera: 'maybe', microphone: 'on', screenSharing: false }),
      JSON.stringify({ type: 'media-state', name: 7, camera: 'on', microphone: 'on', screenSharing: false }),
      JSON.stringify({ type: 'media-state', name: 'Eve', camera: 'on', microphone: 'on' }),
    ]) {
      channel.receive(malformed);
    }
    expect(t.adapter.getSnapshot()).toBe(before);
    expect(t.warnings.filter((w) => w.includes('malformed media-state'))).toHaveLength(8);
    channel.receive(
      mediaStateMessage({ name: 'x'.repeat(500), camera: 'none', microphone: 'on', screenSharing: true }),
    );
    expect(t.adapter.getSnapshot().remote).toMatchObject({ name: 'x'.repeat(64), screen: true, hasCamera: false });
  });

  it('falls back to the tracks received for a peer that sends no media state, and forgets it when the peer leaves', async () => {
    const t = await connected();
    t.pc().ontrack?.({ track: fakeTrack('audio'), streams: [] });
    t.pc().ontrack?.({ track: fakeTrack('video'), streams: [] });
    expect(t.adapter.getSnapshot().remote).toEqual({
      audio: true,
      video: true,
      screen: false,
      hasCamera: true,
      hasMicrophone: true,
      name: '',
    });
    mediaChannel(t.pc()).receive(
      mediaStateMessage({ name: 'Bob', camera: 'on', microphone: 'on', screenSharing: false }),
    );
    expect(t.adapter.getSnapshot().remote.name).toBe('Bob');
    t.socket().deliver('peer-left');
    expect(t.adapter.getSnapshot().remote).toMatchObject({ audio: false, video: false, name: '' });
  });

  it('switches camera and microphone with replaceTrack, stops the old tracks and never renegotiates', async () => {
    const t = await connected();
    const before = negotiations(t);
    const [mic, cam] = t.initial;
    await t.adapter.switchCamera('cam-2');
    await t.adapter.switchMicrophone('mic-2');
    await flush();
    expect(t.devices.requests).toEqual([
      { video: { deviceId: { exact: 'cam-2' } } },
      { audio: { deviceId: { exact: 'mic-2' } } },
    ]);
    expect(videoSender(t.pc()).track?.getSettings().deviceId).toBe('cam-2');
    expect(audioSender(t.pc()).track?.getSettings().deviceId).toBe('mic-2');
    expect([mic.readyState, cam.readyState]).toEqual(['ended', 'ended']);
    expect(t.stream.getTracks().map((track) => track.getSettings().deviceId)).toEqual(['cam-2', 'mic-2']);
    expect(negotiations(t)).toEqual(before);
    expect(t.pc().calls.filter((call) => call.method === 'addTrack')).toHaveLength(2);
  });

  it('keeps the camera off on the new camera, and reports a refused switch as a media error', async () => {
    const t = await connected();
    t.adapter.setCameraEnabled(false);
    await t.adapter.switchCamera('cam-2');
    expect(videoSender(t.pc()).track?.enabled).toBe(false);
    t.devices.refuseWith('NotAllowedError');
    await expect(t.adapter.switchCamera('cam-3')).rejects.toThrow();
    expect(t.adapter.getSnapshot().callError?.code).toBe('permission-denied');
    expect(videoSender(t.pc()).track?.readyState).toBe('live'); // still cam-2
  });

  it('shares the screen in place of the camera and brings the camera back on stop, without renegotiating', async () => {
    const t = await connected();
    const before = negotiations(t);
    const cam = t.initial[1];
    await t.adapter.startScreenShare();
    const screen = t.devices.given[0];
    expect(videoSender(t.pc()).track).toBe(screen);
    expect(t.stream.getVideoTracks()).toEqual([screen]);
    expect(t.adapter.getSnapshot().local).toMatchObject({ video: true, screen: true });
    expect(sentStates(t.pc()).at(-1)).toMatchObject({ screenSharing: true });
    await t.adapter.stopScreenShare();
    expect(videoSender(t.pc()).track).toBe(cam);
    expect(screen.readyState).toBe('ended');
    expect(cam.readyState).toBe('live');
    expect(t.stream.getVideoTracks()).toEqual([cam]);
    expect(sentStates(t.pc()).at(-1)).toMatchObject({ screenSharing: false });
    await flush();
    expect(negotiations(t)).toEqual(before);
  });

  it("brings the camera back when the browser's own Stop sharing ends the screen track", async () => {
    const t = await connected();
    await t.adapter.startScreenShare();
    const screen = t.devices.given[0];
    screen.end();
    await flush();
    expect(videoSender(t.pc()).track).toBe(t.initial[1]);
    expect(t.adapter.getSnapshot().local.screen).toBe(false);
  });

  it('switches the camera aside while sharing, and sends the new one when sharing stops', async () => {
    const t = await connected();
    await t.adapter.startScreenShare();
    await t.adapter.switchCamera('cam-2');
    expect(videoSender(t.pc()).track?.getSettings().deviceId).toBe('screen:0');
    await t.adapter.stopScreenShare();
    expect(videoSender(t.pc()).track?.getSettings().deviceId).toBe('cam-2');
    expect(t.initial[1].readyState).toBe('ended');
  });

  it('stops every local track on hang-up, screen included, and starts the same devices again on rejoin', async () => {
    const t = await connected();
    await t.adapter.switchCamera('cam-2');
    await t.adapter.startScreenShare();
    t.adapter.hangUp();
    expect(t.allTracks().map((track) => track.readyState)).toEqual(['ended', 'ended', 'ended', 'ended']);
    expect(t.adapter.getSnapshot().local).toMatchObject({ audio: false, video: false, screen: false });
    t.adapter.rejoin();
    await flush();
    expect(t.devices.requests.slice(-2)).toEqual([
      { audio: { deviceId: { ideal: 'mic-1' } } },
      { video: { deviceId: { ideal: 'cam-2' } } },
    ]);
    t.socket().deliver('role', { room: 'kitchen', role: 'polite' });
    expect(t.pc().tracks.map((track) => track.readyState)).toEqual(['live', 'live']);
    expect(t.adapter.getSnapshot().local).toMatchObject({ audio: true, video: true });
  });

  it('stops every local track when the room refuses the join', () => {
    const t = setup();
    t.adapter.join();
    t.socket().deliver(
      'connect_error',
      Object.assign(new Error('refused'), { data: { code: 'room-full', message: 'full' } }),
    );
    expect(t.initial.map((track) => track.readyState)).toEqual(['ended', 'ended']);
  });

  it('stops every local track on dispose', async () => {
    const t = await connected();
    await t.adapter.startScreenShare();
    t.adapter.dispose();
    expect(t.allTracks().every((track) => track.readyState === 'ended')).toBe(true);
  });

  it('keeps every invariant through any sequence of switches, shares and toggles', async () => {
    type Command =
      | { type: 'camera'; id: number }
      | { type: 'microphone'; id: number }
      | { type: 'share' }
      | { type: 'stopShare' }
      | { type: 'endShare' }
      | { type: 'mic'; on: boolean }
      | { type: 'cameraOn'; on: boolean }
      | { type: 'name'; name: string };
    const command: fc.Arbitrary<Command> = fc.oneof(
      fc.record({ type: fc.constant('camera' as const), id: fc.integer({ min: 1, max: 3 }) }),
      fc.record({ type: fc.constant('microphone' as const), id: fc.integer({ min: 1, max: 3 }) }),
      fc.constant({ type: 'share' as const }),
      fc.constant({ type: 'stopShare' as const }),
      fc.constant({ type: 'endShare' as const }),
      fc.record({ type: fc.constant('mic' as const), on: fc.boolean() }),
      fc.record({ type: fc.constant('cameraOn' as const), on: fc.boolean() }),
      fc.record({ type: fc.constant('name' as const), name: fc.string({ maxLength: 8 }) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(command, { maxLength: 12 }), async (commands) => {
        const t = await connected();
        const before = negotiations(t);
        for (const c of commands) {
          if (c.type === 'camera') await t.adapter.switchCamera(`cam-${c.id}`);
          else if (c.type === 'microphone') await t.adapter.switchMicrophone(`mic-${c.id}`);
          else if (c.type === 'share') await t.adapter.startScreenShare();
          else if (c.type === 'stopShare') await t.adapter.stopScreenShare();
          else if (c.type === 'endShare') t.devices.given.findLast((track) => track.deviceId === 'screen:0')?.end();
          else if (c.type === 'mic') t.adapter.setMicEnabled(c.on);
          else if (c.type === 'cameraOn') t.adapter.setCameraEnabled(c.on);
          else t.adapter.setDisplayName(c.name);
          await flush();
          // What is shown is what is sent, and every other track is stopped but the camera
          // waiting aside while the screen is shared.
          const shown = t.stream.getTracks() as unknown as FakeMediaStreamTrack[];
          expect(
            t
              .pc()
              .senders.map((sender) => sender.track)
              .sort(byKind),
          ).toEqual([...shown].sort(byKind));
          const local = t.adapter.getSnapshot().local;
          expect(local.screen).toBe(t.stream.getVideoTracks()[0]?.getSettings().deviceId === 'screen:0');
          const aside = t.allTracks().filter((track) => track.readyState === 'live' && !shown.includes(track));
          expect(aside.map((track) => track.kind)).toEqual(local.screen ? ['video'] : []);
          const last = sentStates(t.pc()).at(-1)!;
          expect(last).toEqual({
            name: local.name,
            // The camera's own state is not in the snapshot while the screen is shared.
            camera: local.screen ? last.camera : local.video ? 'on' : 'off',
            microphone: local.audio ? 'on' : 'off',
            screenSharing: local.screen,
          });
        }
        expect(negotiations(t)).toEqual(before);
        t.adapter.hangUp();
        expect(t.allTracks().every((track) => track.readyState === 'ended')).toBe(true);
      }),
      { numRuns: 60 },
    );
  });
});

function byKind(a: { kind: string } | null, b: { kind: string } | null): number {
  return (a?.kind ?? '').localeCompare(b?.kind ?? '');
}
