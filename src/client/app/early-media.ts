/**
 * The page's first script, inlined at the top of index.html's head by vite.config.ts: it asks for
 * the camera and microphone while the page is still being parsed, before any script file has
 * arrived, because starting them is the longest wait before a call can begin. main.ts takes the
 * request over ({@link takeEarlyMedia}). The server's Content-Security-Policy allows this one
 * inline script by its hash (src/signaling/static-files.ts). A link that names no valid room asks
 * for nothing, as main.ts does.
 */
import { mediaConstraints } from './local-media.js';
import { isValidRoomName } from './room-link.js';
import { storedDevices } from './stored-choices.js';

declare global {
  interface Window {
    /** The request early-media.ts made, until main.ts takes it. */
    __parleyEarlyMedia?: Promise<MediaStream>;
  }
}

/** The request for the camera and microphone the inline script made, if it made one; only the first caller gets it. */
export function takeEarlyMedia(): Promise<MediaStream> | undefined {
  const request = window.__parleyEarlyMedia;
  delete window.__parleyEarlyMedia;
  return request;
}

/** Run by the inline script; true when it asked, that is when the page will join a room. */
export function requestEarlyMedia(): boolean {
  const named = new URLSearchParams(location.search).get('room');
  // navigator.mediaDevices only exists in a secure context; main.ts explains its absence.
  if ((named !== null && !isValidRoomName(named)) || navigator.mediaDevices?.getUserMedia === undefined) return false;
  const request = navigator.mediaDevices.getUserMedia(mediaConstraints(storedDevices()));
  // A refusal is handled by main.ts, which falls back to audio only; until then it is no error.
  request.catch(() => {});
  window.__parleyEarlyMedia = request;
  return true;
}
