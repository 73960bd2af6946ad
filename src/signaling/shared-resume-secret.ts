/**
 * The resume secret of a cluster (`--redis` without `--resume-secret`): every node must verify
 * the tokens the others issue, since a peer whose node died resumes its seat on another. The
 * first node to start puts a random secret in Redis (SET NX) and every node uses what is there.
 *
 * Redis restarted empty would lose it: each node puts its own back as soon as Redis is up again
 * (SET NX again), so the nodes still running keep agreeing with each other and with nodes
 * started afterwards. An operator who wants tokens to survive everything gives `--resume-secret`.
 */
import { randomBytes } from 'node:crypto';
import type { RedisLink } from './cluster/redis-link.js';

/** The Redis key of the shared secret, under the cluster's prefix. */
export function resumeSecretKey(prefix: string): string {
  return `${prefix}resume-secret`;
}

/** The cluster's resume secret, put in Redis by the first node; kept there while `link` lives. */
export async function sharedResumeSecret(link: RedisLink, prefix: string): Promise<string> {
  const key = resumeSecretKey(prefix);
  const candidate = randomBytes(32).toString('base64url');
  const secret = await link.run('sharing the resume secret', async (redis) => {
    await redis.set(key, candidate, 'NX');
    return (await redis.get(key)) ?? candidate;
  });
  link.onChange((up) => {
    if (up) void link.run('sharing the resume secret', (redis) => redis.set(key, secret, 'NX')).catch(() => {});
  });
  return secret;
}
