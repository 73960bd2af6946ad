/**
 * The message area: at most one notice per topic (media, sound, signaling, call, link), newest last.
 * Each notice is a `<p data-kind=...>` so tests and styles can tell them apart.
 */

/** What a notice is about; a new notice on a topic replaces the previous one. */
export type NoticeTopic = 'media' | 'sound' | 'signaling' | 'call' | 'link';

/** The kind of a notice, stable for tests: `room-full`, `peer-left`, `camera-denied`, ... */
export type NoticeKind =
  | 'insecure'
  | 'camera-denied'
  | 'media-denied'
  | 'no-camera'
  | 'no-media'
  | 'media-error'
  | 'signaling-lost'
  | 'signaling-unreachable'
  | 'room-full'
  | 'rejected'
  | 'bad-room'
  | 'peer-left'
  | 'call-reset'
  | 'call-failed'
  | 'call-ended'
  | 'link-copied'
  | 'link-manual'
  | 'sound-blocked';

/** One notice: its kind, the sentence, and optionally one link the user can follow. */
export interface Notice {
  readonly kind: NoticeKind;
  readonly text: string;
  readonly tone: 'info' | 'warning' | 'error';
  readonly link?: { readonly href: string; readonly text: string };
  /** Clears itself after this many milliseconds. */
  readonly timeoutMs?: number;
}

/** The notice area bound to its element. */
export interface Notices {
  show(topic: NoticeTopic, notice: Notice): void;
  clear(topic: NoticeTopic): void;
  /** The kind shown on a topic now, if any. */
  kindOf(topic: NoticeTopic): NoticeKind | undefined;
}

/** Binds the notice area to `container`. */
export function createNotices(container: HTMLElement): Notices {
  const shown = new Map<
    NoticeTopic,
    { element: HTMLElement; kind: NoticeKind; timer: ReturnType<typeof setTimeout> | undefined }
  >();
  const clear = (topic: NoticeTopic): void => {
    const current = shown.get(topic);
    if (current === undefined) return;
    clearTimeout(current.timer);
    current.element.remove();
    shown.delete(topic);
  };
  return {
    show(topic, notice) {
      clear(topic);
      const element = document.createElement('p');
      element.className = `notice ${notice.tone}`;
      element.dataset['kind'] = notice.kind;
      element.dataset['topic'] = topic;
      element.textContent = notice.text;
      if (notice.link !== undefined) {
        const anchor = document.createElement('a');
        anchor.href = notice.link.href;
        anchor.textContent = notice.link.text;
        element.append(' ', anchor);
      }
      const timer = notice.timeoutMs === undefined ? undefined : setTimeout(() => clear(topic), notice.timeoutMs);
      container.append(element);
      shown.set(topic, { element, kind: notice.kind, timer });
    },
    clear,
    kindOf: (topic) => shown.get(topic)?.kind,
  };
}
