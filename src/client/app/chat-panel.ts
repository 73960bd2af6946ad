/**
 * Showing and hiding the chat. On a wide screen the chat is a side panel, shown unless the user
 * hid it (remembered in localStorage); on a phone, upright or on its side, it is a sheet that
 * starts closed. Messages that arrive while it is hidden count on the chat button's badge.
 */

/** Where the chat is a sheet over the call rather than a side panel; style.css uses the same queries. */
export const CHAT_SHEET_MEDIA = '(max-width: 799px), (max-height: 500px)';

const STORAGE_KEY = 'parley.chat';

/** The chat panel's visibility. */
export interface ChatPanel {
  isOpen(): boolean;
  setOpen(open: boolean): void;
  /** Counts a message that arrived, on the badge if the chat is hidden. */
  messageArrived(): void;
}

/** Binds the chat's toggle, close button and badge; `call` gets the `chat-open` class. */
export function bindChatPanel(ui: {
  readonly call: HTMLElement;
  readonly toggle: HTMLButtonElement;
  readonly close: HTMLButtonElement;
  readonly badge: HTMLElement;
  readonly input: HTMLInputElement;
}): ChatPanel {
  const sheet = matchMedia(CHAT_SHEET_MEDIA);
  let unread = 0;
  const remembered = (): boolean => {
    try {
      return localStorage.getItem(STORAGE_KEY) !== 'hidden';
    } catch {
      return true; // storage disabled
    }
  };
  const show = (open: boolean): void => {
    ui.call.classList.toggle('chat-open', open);
    ui.toggle.setAttribute('aria-expanded', String(open));
    ui.toggle.title = `${open ? 'Hide' : 'Show'} the chat (C)`;
    if (!open) return;
    unread = 0;
    ui.badge.hidden = true;
  };
  const panel: ChatPanel = {
    isOpen: () => ui.call.classList.contains('chat-open'),
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
  show(!sheet.matches && remembered());
  sheet.addEventListener('change', () => show(!sheet.matches && remembered()));
  ui.toggle.addEventListener('click', () => panel.setOpen(!panel.isOpen()));
  ui.close.addEventListener('click', () => panel.setOpen(false));
  return panel;
}
