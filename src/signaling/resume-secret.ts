/**
 * The default key of resume tokens (./resume-token.ts) for `parley serve`: a random secret made
 * once and kept in the user's state directory, so that a plain restart of the server accepts the
 * tokens the previous process issued without any configuration. `--resume-secret` replaces it
 * (several nodes, or a state directory that does not survive a deploy).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';

/** Fewest characters of a usable resume secret. */
export const MIN_RESUME_SECRET_LENGTH = 16;

/**
 * Where the secret file lives: `$STATE_DIRECTORY/resume-secret` under systemd's
 * `StateDirectory=` (a `DynamicUser=` service has no home), else
 * `$XDG_STATE_HOME/parley/resume-secret`, else `~/.local/state/parley/resume-secret` (the XDG
 * Base Directory default).
 */
export function resumeSecretPath(env: NodeJS.ProcessEnv): string {
  // systemd passes a colon-separated list when several directories are configured.
  const systemdState = env['STATE_DIRECTORY']?.split(':')[0];
  if (systemdState) return join(systemdState, 'resume-secret');
  const stateHome = env['XDG_STATE_HOME'] || join(env['HOME'] || homedir(), '.local', 'state');
  return join(stateHome, 'parley', 'resume-secret');
}

/**
 * Reads the secret file, creating it first (mode 0600, in a directory of mode 0700) with 32
 * random bytes when there is none. Two processes starting at once agree: the file is created
 * exclusively, and the one that loses the race reads the winner's.
 */
export function loadOrCreateResumeSecret(env: NodeJS.ProcessEnv): { secret: string; path: string; created: boolean } {
  const path = resumeSecretPath(env);
  const existing = readSecret(path);
  if (existing !== undefined) return { secret: existing, path, created: false };
  mkdirSync(join(path, '..'), { recursive: true, mode: 0o700 });
  const secret = randomBytes(32).toString('base64url');
  try {
    writeFileSync(path, `${secret}\n`, { mode: 0o600, flag: 'wx' });
    return { secret, path, created: true };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    const written = readSecret(path);
    if (written === undefined) throw new Error(`${path}: the resume secret file is empty or too short`);
    return { secret: written, path, created: false };
  }
}

function readSecret(path: string): string | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const secret = text.trim();
  if (secret.length < MIN_RESUME_SECRET_LENGTH) {
    throw new Error(`${path}: the resume secret file holds fewer than ${MIN_RESUME_SECRET_LENGTH} characters`);
  }
  return secret;
}
