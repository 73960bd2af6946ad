/**
 * Showing and hiding the chat. On a wide screen the chat is a side panel, shown unless the user
 * hid it (remembered in localStorage); on a phone, upright or on its side, it is a sheet that
 * starts closed. Messages that arrive while it is hidden count on the chat button's badge.
 *
 * The page's root element carries the `chat-open` class. The inline script at the top of the page
 * sets it ({@link showChatAtStart}) before the page is first laid out, so the side panel is there
 * from the first frame: opening it later moved and resized the whole call while it was being set
 * up, and had the browser draw the page again.
 */
import { setAttribute, setHidden } from './dom-writes.js';

/** Where the chat is a sheet over the call rather than a side panel; style.css uses the same queries. */
export const CHAT_SHEET_MEDIA = '(max-width: 799px), (max-height: 500px)';

const STORAGE_KEY = 'parley.chat';

function rememberedOpen(): boolean {
  try {
    return localStorage.getItem(STORAGE_KEY) !== 'hidden';
  } catch {
    return true; // storage disabled
  }
}

/** Whether the chat starts shown: a side panel the user did not hide. */
export function chatStartsOpen(): boolean {
  return !matchMedia(CHAT_SHEET_MEDIA).matches && rememberedOpen();
}

/** Run by the inline script, before the page's first layout. */
export function showChatAtStart(): void {
  document.documentElement.classList.toggle('chat-open', chatStartsOpen());
}

/** The chat panel's visibility. */
export interface ChatPanel {
  isOpen(): boolean;
  setOpen(open: boolean): void;
  /** Counts a message that arrived, on the badge if the chat is hidden. */
  messageArrived(): void;
}

/** Binds the chat's toggle, close button and badge; `root` gets the `chat-open` class. */
export function bindChatPanel(ui: {
  readonly root: HTMLElement;
  readonly toggle: HTMLButtonElement;
  readonly close: HTMLButtonElement;
  readonly badge: HTMLElement;
  readonly input: HTMLInputElement;
}): ChatPanel {
  const sheet = matchMedia(CHAT_SHEET_MEDIA);
  let unread = 0;
  const show = (open: boolean): void => {
    ui.root.classList.toggle('chat-open', open);
    setAttribute(ui.toggle, 'aria-expanded', String(open));
    setAttribute(ui.toggle, 'title', `${open ? 'Hide' : 'Show'} the chat (C)`);
    if (!open) return;
    unread = 0;
    setHidden(ui.badge, true);
  };
  const panel: ChatPanel = {
    isOpen: () => ui.root.classList.contains('chat-open'),
    setOpen(open) {
      show(open);
      if (open && sheet.matches) ui.input.focus();
      if (sheet.matches) return;
      try {
        localStorage.setItem(STORAGE_KEY, open ? 'shown' : 'hidden');
      } catch {
        // storage disabled: not remembered
      }
    },
    messageArrived() {
      if (panel.isOpen()) return;
      unread += 1;
      ui.badge.textContent = String(unread);
      ui.badge.hidden = false;
    },
  };
  // Already so if the inline script ran: then nothing changes on the page.
  show(chatStartsOpen());
  sheet.addEventListener('change', () => show(chatStartsOpen()));
  ui.toggle.addEventListener('click', () => panel.setOpen(!panel.isOpen()));
  ui.close.addEventListener('click', () => panel.setOpen(false));
  return panel;
}
