/**
 * The copy-link button. `navigator.clipboard` exists only in a secure context (https, or
 * localhost), so on a plain-http address the link is copied the old way: selected in a read-only
 * field and `document.execCommand('copy')`. Either way the notice shows the link, selected, so
 * that it can still be copied by hand when the browser refuses both.
 */
import type { Notices } from './notices.js';

/** Copies `href` to the clipboard and says how it went in the `link` notice. */
export async function copyLink(href: string, notices: Notices): Promise<void> {
  const copied = (await copyWithClipboardApi(href)) || copyWithSelection(href);
  notices.show(
    'link',
    copied
      ? {
          kind: 'link-copied',
          tone: 'info',
          text: 'Link copied. Send it to the person you want to call.',
          field: href,
          timeoutMs: 6_000,
        }
      : {
          kind: 'link-manual',
          tone: 'info',
          text: 'Copy this link and send it to the person you want to call:',
          field: href,
          timeoutMs: 30_000,
        },
  );
}

async function copyWithClipboardApi(text: string): Promise<boolean> {
  // Typed as always present; it is not on insecure pages.
  const clipboard = navigator.clipboard as Clipboard | undefined;
  if (clipboard?.writeText === undefined) return false;
  try {
    await clipboard.writeText(text);
    return true;
  } catch {
    return false; // permission refused, or the document has no focus
  }
}

/** The pre-Clipboard-API way: select the text in a field and run the `copy` command. */
function copyWithSelection(text: string): boolean {
  const field = document.createElement('input');
  field.readOnly = true;
  field.value = text;
  field.setAttribute('aria-hidden', 'true');
  field.style.position = 'fixed';
  field.style.opacity = '0';
  field.style.pointerEvents = 'none';
  const focused = document.activeElement;
  document.body.append(field);
  field.select();
  let copied = false;
  try {
    // Deprecated, yet the only clipboard access an insecure page has.
    copied = document.execCommand('copy');
  } catch {
    copied = false;
  }
  field.remove();
  if (focused instanceof HTMLElement) focused.focus();
  return copied;
}
