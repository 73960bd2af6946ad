/**
 * The text chat panel: a log of messages and a form to send one. Sending goes through the
 * adapter's data channel; the view only shows what was sent and received.
 */

/** Who wrote a chat line. */
export type ChatAuthor = 'me' | 'peer' | 'system';

/** The chat panel bound to its elements. */
export interface ChatView {
  /** Appends a line to the log and scrolls to it. */
  append(author: ChatAuthor, text: string): void;
}

/** Wires the chat form: `send` returns false when the message could not be sent. */
export function createChatView(
  elements: { log: HTMLOListElement; form: HTMLFormElement; input: HTMLInputElement },
  send: (text: string) => boolean,
): ChatView {
  const append = (author: ChatAuthor, text: string): void => {
    const item = document.createElement('li');
    item.className = `chat-line ${author}`;
    item.dataset['author'] = author;
    if (author !== 'system') {
      const who = document.createElement('span');
      who.className = 'who';
      who.textContent = author === 'me' ? 'You' : 'Them';
      item.append(who);
    }
    const body = document.createElement('span');
    body.className = 'text';
    body.textContent = text;
    item.append(body);
    elements.log.append(item);
    elements.log.scrollTop = elements.log.scrollHeight;
  };

  elements.form.addEventListener('submit', (event) => {
    event.preventDefault();
    const text = elements.input.value.trim();
    if (text === '') return;
    if (send(text)) {
      append('me', text);
      elements.input.value = '';
    } else {
      append('system', 'Not sent: chat works once the call is connected.');
    }
  });
  return { append };
}
