/**
 * Keyboard shortcuts for the call screen: single keys (M mic, V camera, H hang up, C chat, ?
 * this list), never while the user types in a field, and never with Ctrl, Alt or Meta (those
 * belong to the browser).
 */

/** A shortcut: the key (as `KeyboardEvent.key`, lower case) and what it does, in words. */
export interface Shortcut {
  readonly key: string;
  readonly does: string;
}

/** The call screen's shortcuts, in the order the help lists them. */
export const SHORTCUTS = [
  { key: 'm', does: 'microphone on/off' },
  { key: 'v', does: 'camera on/off' },
  { key: 'h', does: 'hang up' },
  { key: 'c', does: 'show or hide the chat' },
  { key: '?', does: 'show these shortcuts' },
] as const satisfies readonly Shortcut[];

/** A key of {@link SHORTCUTS}. */
export type ShortcutKey = (typeof SHORTCUTS)[number]['key'];

/** The shortcuts as one line of help, e.g. "M microphone on/off · V camera on/off · ...". */
export function shortcutsHelp(): string {
  return SHORTCUTS.map(({ key, does }) => `${key.toUpperCase()} ${does}`).join(' · ');
}

/** Whether a key press aimed at `target` is typing (a text field, a select, editable content). */
function isTyping(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  return target.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(target.tagName);
}

/** Runs `actions[key]` on each shortcut key pressed in `target`; returns a function that stops it. */
export function bindShortcuts(
  actions: Record<ShortcutKey, () => void>,
  target: Document | HTMLElement = document,
): () => void {
  const onKeyDown = (event: Event): void => {
    if (!(event instanceof KeyboardEvent)) return;
    if (event.defaultPrevented || event.repeat || event.ctrlKey || event.altKey || event.metaKey) return;
    if (isTyping(event.target)) return;
    const key = event.key.toLowerCase();
    const action = (actions as Record<string, (() => void) | undefined>)[key];
    if (action === undefined) return;
    event.preventDefault();
    action();
  };
  target.addEventListener('keydown', onKeyDown);
  return () => target.removeEventListener('keydown', onKeyDown);
}
