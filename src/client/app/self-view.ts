/**
 * The self-view (the small mirrored picture of yourself): shown as soon as the camera is on, by
 * the app's first chunk (main.ts), rather than once the call page has loaded and joined. The
 * picture appears sooner, and starting the video element (its player, its compositor layer) is
 * done while the page waits for the connection, instead of while the browser applies the other
 * peer's offer, when every millisecond of the page's main thread counts (docs/performance.md,
 * "Time to media").
 */

/** The page's self-view element; index.html has it. */
function selfView(): HTMLVideoElement | null {
  return document.querySelector<HTMLVideoElement>('[data-testid="local-video"]');
}

/** Shows `stream` in the self-view if it has video; nothing else about the page changes. */
export function showSelfView(stream: MediaStream | undefined): void {
  const video = selfView();
  if (video === null || stream === undefined || stream.getVideoTracks().length === 0) return;
  if (video.srcObject !== stream) video.srcObject = stream;
}
