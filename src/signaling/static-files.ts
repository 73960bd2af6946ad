/**
 * The web app's files, read into memory once at start-up and served from there. The app is a
 * few hundred kilobytes built by Vite; holding it in memory keeps serving off the disk and out of
 * the event loop, and makes path traversal impossible (only files found at start exist).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join, relative, sep } from 'node:path';
import { createHash } from 'node:crypto';

/** One file ready to send. */
export interface StaticFile {
  readonly body: Buffer;
  readonly contentType: string;
  readonly etag: string;
  /** Vite's hashed assets never change under their name; everything else is revalidated. */
  readonly immutable: boolean;
}

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
      files.set(urlPath, {
        body,
        contentType: CONTENT_TYPES[extname(name).toLowerCase()] ?? 'application/octet-stream',
        etag: `"${createHash('sha1').update(body).digest('base64url').slice(0, 16)}"`,
        immutable: urlPath.startsWith('/assets/'),
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
