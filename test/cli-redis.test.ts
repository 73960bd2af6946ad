/** `parley serve --redis`: the flag, its variable, and what a wrong value says. */
import { describe, expect, it } from 'vitest';
import { HELP, parseServeConfig } from '../src/signaling/cli.js';

describe('--redis', () => {
  it('is off by default: rooms stay in memory', () => {
    expect(parseServeConfig([], {}).redis).toBeUndefined();
  });

  it('takes a redis:// or rediss:// URL from the flag or PARLEY_REDIS_URL, the flag winning', () => {
    expect(parseServeConfig(['--redis', 'redis://127.0.0.1:6379'], {}).redis).toBe('redis://127.0.0.1:6379');
    expect(parseServeConfig([], { PARLEY_REDIS_URL: 'rediss://cache.internal:6380/2' }).redis).toBe(
      'rediss://cache.internal:6380/2',
    );
    expect(parseServeConfig([], { PARLEY_REDIS: 'redis://10.0.0.9' }).redis).toBe('redis://10.0.0.9');
    expect(parseServeConfig(['--redis', 'redis://flag:1'], { PARLEY_REDIS_URL: 'redis://variable:2' }).redis).toBe(
      'redis://flag:1',
    );
  });

  it('refuses what is not a Redis URL, saying what it wants', () => {
    expect(() => parseServeConfig(['--redis', 'localhost:6379'], {})).toThrow(/redis:\/\/ or rediss:\/\/ URL/);
    expect(() => parseServeConfig(['--redis', 'not a url'], {})).toThrow(/--redis needs a URL such as redis:\/\//);
    expect(() => parseServeConfig([], { PARLEY_REDIS_URL: 'http://127.0.0.1' })).toThrow(/not "http:"/);
  });

  it('is documented in --help with its variable', () => {
    expect(HELP).toContain('--redis URL');
    expect(HELP).toContain('[PARLEY_REDIS_URL]');
  });
});
