/**
 * The Parley web app's first chunk, one page per room. index.html loads it `async`, so it runs as
 * soon as it has arrived, while the page is still being parsed and styled. It takes over the
 * request for the camera and microphone that the page's inline script made (early-media.ts),
 * shows the self-view as soon as the camera is on (self-view.ts), opens the connection to the
 * server, joins the room when no permission prompt is pending (src/client/early-join.ts,
 * media-permission.ts), and only then loads the rest of the app (call-page.ts), whose download
 * (a `modulepreload` in index.html) and evaluation overlap with both.
 * bench/time-to-media.ts measures the difference (docs/performance.md, "Time to media").
 */
import { connectSignaling } from '../signaling-client.js';
import { takeEarlyMedia } from './early-media.js';
import { acquireLocalMedia } from './local-media.js';
import { mediaDecidedBefore } from './media-permission.js';
import { roomFromLink } from './room-link.js';
import { showSelfView } from './self-view.js';
import { showStartFailure, whenParsed } from './start-failure.js';
import { storedDevices } from './stored-choices.js';
import type { EarlyStart } from './call-page.js';

const link = roomFromLink(location, history);
// A link that names no valid room joins nothing: no camera, no connection (call-page.ts says why).
const early: EarlyStart | undefined =
  link.kind === 'room'
    ? {
        // The inline script in the page's head has asked for the camera already (early-media.ts).
        // The self-view shows it as soon as it is on (self-view.ts).
        media: acquireLocalMedia(navigator.mediaDevices, storedDevices(), takeEarlyMedia()).then((media) => {
          whenParsed(() => showSelfView(media.stream));
          return media;
        }),
        // The connection opens while the camera starts. When no permission prompt can hold the
        // camera up, the join leaves too: the other peer makes its offer meanwhile, and the call
        // page takes the socket, with what the server sent it, once the camera is on.
        signaling: mediaDecidedBefore().then((decided) =>
          connectSignaling(
            location.origin,
            decided
              ? { join: { room: link.room, ...(link.secret === undefined ? {} : { secret: link.secret }) } }
              : { preconnect: true },
          ),
        ),
      }
    : undefined;

// The call page finds its elements when it is evaluated, so it is imported once the page is parsed.
whenParsed(() => {
  import('./call-page.js').then(({ startCallPage }) => startCallPage(link, early), showStartFailure);
});
