/**
 * A one-to-one call with Parley and no framework: join the room of the link on load, show both
 * videos and the call status, hang up with the button.
 */
import { connectSignaling, createPeerAdapter } from 'parley/client';
import { roomFromAddress, signalingServer } from './room';

const status = element<HTMLElement>('call-state');
const localVideo = element<HTMLVideoElement>('local-video');
const remoteVideo = element<HTMLVideoElement>('remote-video');
const hangUp = element<HTMLButtonElement>('hang-up');

// Camera and microphone if we may; without them the call still receives.
const localStream = await navigator.mediaDevices?.getUserMedia({ audio: true, video: true }).catch(() => undefined);
// The self-view plays the camera alone: a muted element given the microphone still plays it
// through an audio output (at volume 0), for nothing.
localVideo.srcObject = localStream === undefined ? null : new MediaStream(localStream.getVideoTracks());

const call = createPeerAdapter({
  room: roomFromAddress(),
  connectSocket: connectSignaling(signalingServer()),
  ...(localStream === undefined ? {} : { localStream }),
});

call.subscribe((snapshot) => {
  status.textContent = snapshot.status;
  status.dataset['status'] = snapshot.status;
  hangUp.disabled = snapshot.status === 'closed';
});
call.onRemoteTrack((track, [stream = new MediaStream([track])]) => {
  if (remoteVideo.srcObject !== stream) remoteVideo.srcObject = stream;
});
hangUp.addEventListener('click', () => call.hangUp());
call.join();

function element<T extends HTMLElement>(testId: string): T {
  const found = document.querySelector<T>(`[data-testid="${testId}"]`);
  if (found === null) throw new Error(`no [data-testid="${testId}"] in index.html`);
  return found;
}
