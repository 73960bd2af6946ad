/** The entry of the inline script (vite.config.ts builds it into index.html): see early-media.ts. */
import { requestEarlyMedia } from './early-media.js';

requestEarlyMedia();
