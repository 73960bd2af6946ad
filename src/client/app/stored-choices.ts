/**
 * The choices the app remembers for the next visit, in localStorage: the display name, the
 * camera and the microphone. A module of its own because the app's first chunk (main.ts) reads
 * the devices to start the camera before the rest of the app has loaded.
 */

/** The localStorage key of each remembered choice. */
const STORAGE_KEYS = { name: 'parley.displayName', camera: 'parley.camera', microphone: 'parley.microphone' } as const;

/** A remembered choice. */
export type StoredChoice = keyof typeof STORAGE_KEYS;

/** The name this browser used last time; empty if none. */
export function storedDisplayName(): string {
  return readChoice('name') ?? '';
}

/** The camera and microphone chosen last time, for `getUserMedia` to prefer. */
export function storedDevices(): { readonly camera?: string; readonly microphone?: string } {
  const camera = readChoice('camera');
  const microphone = readChoice('microphone');
  return { ...(camera === undefined ? {} : { camera }), ...(microphone === undefined ? {} : { microphone }) };
}

/** The remembered value of `choice`, if there is one. */
export function readChoice(choice: StoredChoice): string | undefined {
  try {
    const value = localStorage.getItem(STORAGE_KEYS[choice]);
    return value === null || value === '' ? undefined : value;
  } catch {
    return undefined; // storage disabled (private mode, a sandboxed frame)
  }
}

/** Remembers `value` for `choice`; an empty value forgets it. */
export function rememberChoice(choice: StoredChoice, value: string): void {
  try {
    if (value === '') localStorage.removeItem(STORAGE_KEYS[choice]);
    else localStorage.setItem(STORAGE_KEYS[choice], value);
  } catch {
    // storage disabled: the choice holds for this page only
  }
}
