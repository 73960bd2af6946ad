/**
 * The web app's files, read into memory once at start-up and served from there, each also
 * compressed once with brotli and gzip when that makes it smaller. The app is a few hundred
 * kilobytes built by Vite; holding it in memory keeps serving off the disk and out of the event
 * loop, and makes path traversal impossible (only files found at start exist).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join, relative, sep } from 'node:path';
import { createHash } from 'node:crypto';
import { brotliCompressSync, constants as zlib, gzipSync } from 'node:zlib';
import type { HttpResponse } from 'uWebSockets.js';
import { endHeadResponse } from './head-response.js';

/** One encoding of a file's body. */
interface Encoded {
  readonly body: Buffer;
  readonly etag: string;
}

/** One file ready to send. */
export interface StaticFile {
  readonly body: Buffer;
  readonly contentType: string;
  readonly etag: string;
  /** Vite's hashed assets never change under their name; everything else is revalidated. */
  readonly immutable: boolean;
  /** For an HTML page: its Content-Security-Policy ({@link contentSecurityPolicyFor}). */
  readonly contentSecurityPolicy: string | undefined;
  /** Brotli and gzip variants, present when smaller than the body. */
  readonly br: Encoded | undefined;
  readonly gzip: Encoded | undefined;
}

/**
 * The app's Content-Security-Policy: everything from this origin only, camera and screen streams
 * and blobs for media, WebSockets to this origin ('self' covers ws: and wss: of the same host,
 * CSP Level 3), no plugins, no framing, no inline script or style.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "media-src 'self' blob: mediastream:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** A classic inline script: a `<script>` element without `src`, and its text. */
const INLINE_SCRIPT = /<script\b(?![^>]*\ssrc\s*=)[^>]*>([\s\S]*?)<\/script\s*>/gi;

/**
 * The Content-Security-Policy of one HTML page: {@link CONTENT_SECURITY_POLICY}, with each inline
 * script the page was built with allowed by its SHA-256 hash (CSP Level 2 hash sources), so that
 * the app can start the camera before its first script file arrives while no other inline script
 * (an injected one) may run.
 */
export function contentSecurityPolicyFor(html: string): string {
  const hashes = [...html.matchAll(INLINE_SCRIPT)]
    .map(
      (match) =>
        `'sha256-${createHash('sha256')
          .update(match[1] ?? '', 'utf8')
          .digest('base64')}'`,
    )
    .filter((hash, index, all) => all.indexOf(hash) === index);
  if (hashes.length === 0) return CONTENT_SECURITY_POLICY;
  return CONTENT_SECURITY_POLICY.replace("script-src 'self'", `script-src 'self' ${hashes.join(' ')}`);
}

const COMPRESSIBLE = /^(text\/|application\/(json|manifest\+json|javascript)|image\/svg\+xml)/;

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.ico': 'image/x-icon',
  '.webmanifest': 'application/manifest+json',
  '.txt': 'text/plain; charset=utf-8',
  '.woff2': 'font/woff2',
};

/** Reads every file under `root` into a map keyed by URL path (`/index.html`, `/assets/x.js`). */
export function loadStaticFiles(root: string): Map<string, StaticFile> {
  const files = new Map<string, StaticFile>();
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) {
        walk(path);
        continue;
      }
      const body = readFileSync(path);
      const urlPath = '/' + relative(root, path).split(sep).join('/');
      const contentType = CONTENT_TYPES[extname(name).toLowerCase()] ?? 'application/octet-stream';
      const hash = createHash('sha1').update(body).digest('base64url').slice(0, 16);
      const compressible = COMPRESSIBLE.test(contentType) && body.length > 256;
      files.set(urlPath, {
        body,
        contentType,
        etag: `"${hash}"`,
        immutable: urlPath.startsWith('/assets/'),
        contentSecurityPolicy: contentType.startsWith('text/html')
          ? contentSecurityPolicyFor(body.toString('utf8'))
          : undefined,
        br: compressible ? smaller(body, brotli(body), `"${hash}-br"`) : undefined,
        gzip: compressible ? smaller(body, gzipSync(body, { level: 9 }), `"${hash}-gz"`) : undefined,
      });
    }
  };
  walk(root);
  return files;
}

/** Finds the file for a request path: `/` and unknown extensionless paths fall back to index.html. */
export function resolveStaticFile(files: ReadonlyMap<string, StaticFile>, url: string): StaticFile | undefined {
  if (url === '/' || url === '') return files.get('/index.html');
  return files.get(url) ?? (extname(url) === '' ? files.get('/index.html') : undefined);
}

function brotli(body: Buffer): Buffer {
  return brotliCompressSync(body, {
    params: { [zlib.BROTLI_PARAM_QUALITY]: 11, [zlib.BROTLI_PARAM_SIZE_HINT]: body.length },
  });
}

function smaller(body: Buffer, compressed: Buffer, etag: string): Encoded | undefined {
  return compressed.length < body.length ? { body: compressed, etag } : undefined;
}

/** What a request for a static file asked, copied out of the request. */
export interface StaticRequest {
  readonly ifNoneMatch: string;
  readonly acceptEncoding: string;
  /** HEAD gets the headers of GET and no body. */
  readonly head: boolean;
}

/** Sends `file` (its best encoding for the client), or 304 when the client has it. */
export function sendStaticFile(res: HttpResponse, file: StaticFile, request: StaticRequest): void {
  const accepts = request.acceptEncoding.toLowerCase();
  const encoding =
    file.br !== undefined && /\bbr\b/.test(accepts)
      ? { name: 'br', ...file.br }
      : file.gzip !== undefined && /\bgzip\b/.test(accepts)
        ? { name: 'gzip', ...file.gzip }
        : undefined;
  const etag = encoding?.etag ?? file.etag;
  res.cork(() => {
    if (request.ifNoneMatch === etag) {
      res.writeStatus('304 Not Modified').writeHeader('etag', etag).endWithoutBody();
      return;
    }
    res
      .writeHeader('content-type', file.contentType)
      .writeHeader('etag', etag)
      .writeHeader('cache-control', file.immutable ? 'public, max-age=31536000, immutable' : 'no-cache')
      .writeHeader('x-content-type-options', 'nosniff')
      .writeHeader('referrer-policy', 'no-referrer');
    if (file.br !== undefined || file.gzip !== undefined) res.writeHeader('vary', 'Accept-Encoding');
    if (encoding !== undefined) res.writeHeader('content-encoding', encoding.name);
    if (file.contentType.startsWith('text/html')) {
      res.writeHeader('content-security-policy', file.contentSecurityPolicy ?? CONTENT_SECURITY_POLICY);
      res.writeHeader('x-frame-options', 'DENY');
    }
    const body = encoding?.body ?? file.body;
    if (request.head) endHeadResponse(res, body.length);
    else res.end(body);
  });
}
