import { readFileSync } from 'node:fs';

/** An offer of Chromium 156 (audio, video and a data channel), as its `createOffer` gave it. */
export const CHROMIUM_OFFER = readFileSync(new URL('../fixtures/chromium-offer.sdp', import.meta.url), 'utf8');
