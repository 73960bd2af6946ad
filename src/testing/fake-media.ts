/**
 * Fake local media for driving the adapter in Node (exported by `parley/testing`): tracks that can be stopped and ended (as the
 * browser's "Stop sharing" ends a screen track), a stream whose tracks can be swapped, and
 * `mediaDevices` that hand out new tracks and record what they were asked for.
 */

/** A MediaStreamTrack with what the adapter uses; `end()` plays the browser ending it. */
export class FakeMediaStreamTrack {
  enabled = true;
  readyState: MediaStreamTrackState = 'live';
  private readonly listeners = new Set<() => void>();

  constructor(
    readonly kind: 'audio' | 'video',
    readonly deviceId = `${kind}-default`,
    readonly label = deviceId,
  ) {}

  getSettings(): MediaTrackSettings {
    return { deviceId: this.deviceId };
  }

  stop(): void {
    this.readyState = 'ended';
  }

  addEventListener(type: string, listener: () => void): void {
    if (type === 'ended') this.listeners.add(listener);
  }

  removeEventListener(type: string, listener: () => void): void {
    if (type === 'ended') this.listeners.delete(listener);
  }

  /** The browser ends the track (a device unplugged, "Stop sharing"): `ended` fires, unlike after `stop()`. */
  end(): void {
    this.readyState = 'ended';
    for (const listener of [...this.listeners]) listener();
  }
}

/** A MediaStream over an array of tracks. */
export class FakeMediaStream {
  readonly tracks: FakeMediaStreamTrack[];

  constructor(tracks: FakeMediaStreamTrack[] = []) {
    this.tracks = [...tracks];
  }

  getTracks(): FakeMediaStreamTrack[] {
    return [...this.tracks];
  }

  getAudioTracks(): FakeMediaStreamTrack[] {
    return this.tracks.filter((track) => track.kind === 'audio');
  }

  getVideoTracks(): FakeMediaStreamTrack[] {
    return this.tracks.filter((track) => track.kind === 'video');
  }

  addTrack(track: FakeMediaStreamTrack): void {
    if (!this.tracks.includes(track)) this.tracks.push(track);
  }

  removeTrack(track: FakeMediaStreamTrack): void {
    const index = this.tracks.indexOf(track);
    if (index !== -1) this.tracks.splice(index, 1);
  }
}

/** A fake track, typed as the DOM's for code that takes one. */
export function fakeTrack(kind: 'audio' | 'video', deviceId?: string): MediaStreamTrack & FakeMediaStreamTrack {
  return new FakeMediaStreamTrack(kind, deviceId) as MediaStreamTrack & FakeMediaStreamTrack;
}

/** A fake stream of `tracks`, typed as the DOM's. */
export function fakeStream(tracks: FakeMediaStreamTrack[]): MediaStream & FakeMediaStream {
  return new FakeMediaStream(tracks) as unknown as MediaStream & FakeMediaStream;
}

/** `navigator.mediaDevices` handing out fake tracks; every track it gave is kept, to check they were stopped. */
export function fakeMediaDevices() {
  const given: FakeMediaStreamTrack[] = [];
  const requests: MediaStreamConstraints[] = [];
  const displayRequests: DisplayMediaStreamOptions[] = [];
  let refuse: string | undefined;
  const devices = {
    getUserMedia(constraints: MediaStreamConstraints = {}): Promise<MediaStream> {
      requests.push(constraints);
      if (refuse !== undefined) return Promise.reject(new DOMException('refused by the test', refuse));
      const tracks: FakeMediaStreamTrack[] = [];
      for (const kind of ['audio', 'video'] as const) {
        const wanted = constraints[kind];
        if (wanted === undefined || wanted === false) continue;
        const id = wanted === true ? undefined : (wanted.deviceId as { exact?: string; ideal?: string } | undefined);
        tracks.push(new FakeMediaStreamTrack(kind, id?.exact ?? id?.ideal ?? `${kind}-default`));
      }
      given.push(...tracks);
      return Promise.resolve(fakeStream(tracks));
    },
    getDisplayMedia(options: DisplayMediaStreamOptions = {}): Promise<MediaStream> {
      displayRequests.push(options);
      if (refuse !== undefined) return Promise.reject(new DOMException('refused by the test', refuse));
      const track = new FakeMediaStreamTrack('video', 'screen:0');
      given.push(track);
      return Promise.resolve(fakeStream([track]));
    },
  };
  return {
    mediaDevices: devices as unknown as Pick<MediaDevices, 'getUserMedia' | 'getDisplayMedia'>,
    given,
    requests,
    displayRequests,
    /** Makes every later request fail with a DOMException named `name` (`undefined`: succeed again). */
    refuseWith(name: string | undefined) {
      refuse = name;
    },
  };
}
