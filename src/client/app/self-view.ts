/**
 * The self-view (the small mirrored picture of yourself): shown as soon as the camera is on, by
 * the app's first chunk (main.ts), rather than once the call page has loaded and joined. The
 * picture appears sooner, and starting the video element (its player, its compositor layer) is
 * done while the page waits for the connection, instead of while the browser applies the other
 * peer's offer, when every millisecond of the page's main thread counts (docs/performance.md,
 * "Time to media").
 *
 * It plays a stream of the local video alone. Given the microphone too, a muted element still
 * plays it: Chromium renders local audio through an audio output at volume 0, which keeps the
 * renderer's audio thread and the audio service busy all call long for nothing.
 */

/** The page's self-view element; index.html has it. */
function selfView(): HTMLVideoElement | null {
  return document.querySelector<HTMLVideoElement>('[data-testid="local-video"]');
}

/**
 * Shows the video of `stream` in the self-view, and follows it: call again after its video
 * tracks changed (a switched camera, a shared screen); nothing else about the page changes.
 */
export function showSelfView(stream: MediaStream | undefined): void {
  const video = selfView();
  if (video === null || stream === undefined) return;
  const wanted = stream.getVideoTracks();
  const shown = video.srcObject instanceof MediaStream ? video.srcObject : null;
  const current = shown?.getVideoTracks() ?? [];
  if (wanted.length === current.length && wanted.every((track) => current.includes(track))) return;
  if (shown === null || current.length === 0 || wanted.length === 0) {
    video.srcObject = wanted.length === 0 ? null : new MediaStream(wanted);
    return;
  }
  // In place, the new track first, so the element never sees an empty stream.
  for (const track of wanted) if (!current.includes(track)) shown.addTrack(track);
  for (const track of current) if (!wanted.includes(track)) shown.removeTrack(track);
}
