import { useEffect, useRef } from 'react';
import type { PeerAdapter } from 'parley/client';
import { useParleyCall } from 'parley/react';

/** The call screen: both videos, the call status from the snapshot, a hang-up button. */
export function Call({ call, localStream }: { call: PeerAdapter; localStream: MediaStream | undefined }) {
  const { status } = useParleyCall(call);
  const localVideo = useRef<HTMLVideoElement>(null);
  const remoteVideo = useRef<HTMLVideoElement>(null);

  useEffect(() => {
    // The camera alone: a muted element given the microphone still runs an audio output for it.
    if (localVideo.current !== null)
      localVideo.current.srcObject = localStream === undefined ? null : new MediaStream(localStream.getVideoTracks());
  }, [localStream]);

  useEffect(
    () =>
      call.onRemoteTrack((track, [stream = new MediaStream([track])]) => {
        const video = remoteVideo.current;
        if (video !== null && video.srcObject !== stream) video.srcObject = stream;
      }),
    [call],
  );

  return (
    <main>
      <p>
        Call status:{' '}
        <strong data-testid="call-state" data-status={status}>
          {status}
        </strong>
      </p>
      <div className="videos">
        <video ref={localVideo} data-testid="local-video" autoPlay playsInline muted />
        <video ref={remoteVideo} data-testid="remote-video" autoPlay playsInline />
      </div>
      <button type="button" data-testid="hang-up" disabled={status === 'closed'} onClick={() => call.hangUp()}>
        Hang up
      </button>
    </main>
  );
}
