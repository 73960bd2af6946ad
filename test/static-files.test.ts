/**
 * The web app's static files: the Content-Security-Policy of a page allows exactly the inline
 * scripts the page was built with, by their SHA-256 hashes, and nothing more.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CONTENT_SECURITY_POLICY, contentSecurityPolicyFor, loadStaticFiles } from '../src/signaling/static-files.js';

const sha256 = (text: string) => `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;

describe('contentSecurityPolicyFor', () => {
  it('allows each inline script of the page by its hash, once, and no script from elsewhere', () => {
    const first = 'window.a = 1;';
    const second = '\n  (function () { window.b = 2; })();\n';
    const html = [
      '<head><meta charset="utf-8" />',
      `<script>${first}</script>`,
      '<script type="module" async crossorigin src="/assets/app.js"></script>',
      `<script data-x="1">${second}</script >`,
      `<script>${first}</script>`,
      '</head>',
    ].join('\n');
    const policy = contentSecurityPolicyFor(html);
    expect(policy).toContain(`script-src 'self' ${sha256(first)} ${sha256(second)};`);
    expect(policy.match(/'sha256-/g)).toHaveLength(2);
    expect(policy).not.toContain('unsafe-inline');
    // Everything else is the app's usual policy.
    expect(policy.replace(/ 'sha256-[^']+'/g, '')).toBe(CONTENT_SECURITY_POLICY);
  });

  it('is the usual policy for a page without inline scripts', () => {
    expect(contentSecurityPolicyFor('<script src="/a.js"></script><p>hi</p>')).toBe(CONTENT_SECURITY_POLICY);
  });
});

describe('loadStaticFiles', () => {
  it('gives HTML pages their own policy and other files none', async () => {
    const root = await mkdtemp(join(tmpdir(), 'parley-static-'));
    try {
      await mkdir(join(root, 'assets'));
      await writeFile(join(root, 'index.html'), '<head><script>start()</script></head>');
      await writeFile(join(root, 'assets', 'app.js'), 'start = () => {};');
      const files = loadStaticFiles(root);
      expect(files.get('/index.html')?.contentSecurityPolicy).toContain(`script-src 'self' ${sha256('start()')};`);
      expect(files.get('/assets/app.js')?.contentSecurityPolicy).toBeUndefined();
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
