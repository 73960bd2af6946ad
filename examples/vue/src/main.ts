/**
 * A one-to-one call with Parley and Vue: the call is created once, outside Vue, and joined on
 * load; the component renders its snapshot through the `useParleyCall` composable.
 */
import { createApp } from 'vue';
import { connectSignaling, createPeerAdapter } from 'parley/client';
import CallView from './CallView.vue';
import { roomFromAddress, signalingServer } from './room';
import './style.css';

// Camera and microphone if we may; without them the call still receives.
const localStream = await navigator.mediaDevices?.getUserMedia({ audio: true, video: true }).catch(() => undefined);

const call = createPeerAdapter({
  room: roomFromAddress(),
  connectSocket: connectSignaling(signalingServer()),
  ...(localStream === undefined ? {} : { localStream }),
});

createApp(CallView, { call, localStream }).mount('#app');
call.join();
