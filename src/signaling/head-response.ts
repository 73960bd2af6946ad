/**
 * Ending a response to HEAD on uWebSockets.js 20.30: `endWithoutBody()` must be called without
 * arguments (given a content length, this build returns without responding, which aborts the
 * process), and a body written to HEAD resets the connection. The length GET would have sent is
 * written as a header instead.
 */
import type { HttpRequest, HttpResponse, TemplatedApp } from 'uWebSockets.js';

/** Ends `res` as the response to HEAD of a resource of `byteLength` bytes. */
export function endHeadResponse(res: HttpResponse, byteLength: number): void {
  res.writeHeader('content-length', String(byteLength));
  res.endWithoutBody();
}

/**
 * Registers GET and HEAD for `pattern`. uWebSockets.js 20.30 resets the connection when a body
 * is written to a HEAD request, and aborts the process when a HEAD handler returns without
 * responding, so HEAD gets its own handler that always ends without a body.
 */
export function getAndHead(
  app: TemplatedApp,
  pattern: string,
  handler: (res: HttpResponse, req: HttpRequest, head: boolean) => void,
): void {
  app.get(pattern, (res, req) => handler(res, req, false));
  app.head(pattern, (res, req) => handler(res, req, true));
}

/** Ends `res` with `body`, or, for HEAD, with its headers and length only. */
export function endWith(res: HttpResponse, body: string | Buffer, head: boolean): void {
  if (head) endHeadResponse(res, Buffer.byteLength(body));
  else res.end(body);
}
