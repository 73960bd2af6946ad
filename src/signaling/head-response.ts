/**
 * Ending a response to HEAD on uWebSockets.js 20.30: `endWithoutBody()` must be called without
 * arguments (given a content length, this build returns without responding, which aborts the
 * process), and a body written to HEAD resets the connection. The length GET would have sent is
 * written as a header instead.
 */
import type { HttpResponse } from 'uWebSockets.js';

/** Ends `res` as the response to HEAD of a resource of `byteLength` bytes. */
export function endHeadResponse(res: HttpResponse, byteLength: number): void {
  res.writeHeader('content-length', String(byteLength));
  res.endWithoutBody();
}
