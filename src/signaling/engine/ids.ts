/** Session and socket ids. */
import { randomBytes } from 'node:crypto';

/** A random id in the alphabet and length engine.io uses (base64id: 15 random bytes). */
export function generateId(): string {
  return randomBytes(15).toString('base64url');
}
