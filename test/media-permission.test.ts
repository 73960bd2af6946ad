/**
 * When the web app joins while the camera starts (src/client/app/media-permission.ts): only when
 * neither permission would put a prompt on screen.
 */
import { describe, expect, it } from 'vitest';
import { mediaDecidedBefore } from '../src/client/app/media-permission.js';

function permissions(states: Record<string, PermissionState | Error>): Pick<Permissions, 'query'> {
  return {
    query: ({ name }) => {
      const state = states[name];
      if (state === undefined || state instanceof Error) return Promise.reject(state ?? new TypeError(name));
      return Promise.resolve({ state } as PermissionStatus);
    },
  };
}

describe('mediaDecidedBefore', () => {
  it('is true when camera and microphone were granted or denied before', async () => {
    expect(await mediaDecidedBefore(permissions({ camera: 'granted', microphone: 'granted' }))).toBe(true);
    expect(await mediaDecidedBefore(permissions({ camera: 'denied', microphone: 'granted' }))).toBe(true);
  });

  it('is false when either would prompt', async () => {
    expect(await mediaDecidedBefore(permissions({ camera: 'prompt', microphone: 'granted' }))).toBe(false);
    expect(await mediaDecidedBefore(permissions({ camera: 'granted', microphone: 'prompt' }))).toBe(false);
  });

  it('is false when the browser cannot say', async () => {
    expect(await mediaDecidedBefore(permissions({ camera: new TypeError('camera'), microphone: 'granted' }))).toBe(
      false,
    );
    expect(await mediaDecidedBefore(undefined)).toBe(false);
  });
});
