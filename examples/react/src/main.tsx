/**
 * A one-to-one call with Parley and React: the call is created once, outside React, and joined
 * on load; the component renders its snapshot through `useParleyCall`.
 */
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { connectSignaling, createPeerAdapter } from 'parley/client';
import { Call } from './call';
import { roomFromAddress, signalingServer } from './room';
import './style.css';

// Camera and microphone if we may; without them the call still receives.
const localStream = await navigator.mediaDevices?.getUserMedia({ audio: true, video: true }).catch(() => undefined);

const call = createPeerAdapter({
  room: roomFromAddress(),
  connectSocket: connectSignaling(signalingServer()),
  ...(localStream === undefined ? {} : { localStream }),
});

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <Call call={call} localStream={localStream} />
  </StrictMode>,
);
call.join();
