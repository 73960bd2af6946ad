/**
 * The message area: one place for notices, which never stack up. A notice on a topic (media,
 * sound, signaling, call, link) replaces the previous one on that topic; a notice already shown
 * is not shown twice (it only stays longer); and at most {@link MAX_NOTICES} are on screen, the
 * oldest giving way. Each notice is a `<p data-kind=...>` so tests and styles can tell them apart.
 */

/** What a notice is about; a new notice on a topic replaces the previous one. */
export type NoticeTopic = 'media' | 'sound' | 'signaling' | 'call' | 'link' | 'help';

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
  | 'sound-blocked'
  | 'shortcuts';

/** One notice: its kind, the sentence, and optionally one link the user can follow. */
export interface Notice {
  readonly kind: NoticeKind;
  readonly text: string;
  readonly tone: 'info' | 'warning' | 'error';
  readonly link?: { readonly href: string; readonly text: string };
  /** Text shown in a read-only field, selected, for the user to copy (e.g. the room link). */
  readonly field?: string;
  /** Clears itself after this many milliseconds. */
  readonly timeoutMs?: number;
}

/** At most this many notices are on screen at once. */
export const MAX_NOTICES = 3;

/** A notice on screen and its topic. */
export interface ShownNotice {
  readonly topic: NoticeTopic;
  readonly notice: Notice;
}

function sameNotice(a: Notice, b: Notice): boolean {
  return (
    a.kind === b.kind &&
    a.text === b.text &&
    a.field === b.field &&
    a.link?.href === b.link?.href &&
    a.link?.text === b.link?.text
  );
}

/**
 * The notices on screen after showing `notice` on `topic`, oldest first: the topic's previous
 * notice and any identical notice go, the new one comes last, and the oldest go beyond `max`.
 */
export function withNotice(
  shown: readonly ShownNotice[],
  topic: NoticeTopic,
  notice: Notice,
  max = MAX_NOTICES,
): readonly ShownNotice[] {
  const kept = shown.filter((entry) => entry.topic !== topic && !sameNotice(entry.notice, notice));
  return [...kept, { topic, notice }].slice(-max);
}

/** The notice area bound to its element. */
export interface Notices {
  show(topic: NoticeTopic, notice: Notice): void;
  clear(topic: NoticeTopic): void;
  /** The kind shown on a topic now, if any. */
  kindOf(topic: NoticeTopic): NoticeKind | undefined;
}

interface Rendered {
  readonly entry: ShownNotice;
  readonly element: HTMLElement;
  timer: ReturnType<typeof setTimeout> | undefined;
}

/** Binds the notice area to `container`. */
export function createNotices(container: HTMLElement): Notices {
  let rendered: Rendered[] = [];

  const clearEntry = (entry: ShownNotice): void => {
    const current = rendered.find((r) => r.entry === entry);
    if (current === undefined) return;
    clearTimeout(current.timer);
    current.element.remove();
    rendered = rendered.filter((r) => r !== current);
  };
  const startTimer = (current: Rendered): void => {
    clearTimeout(current.timer);
    const { timeoutMs } = current.entry.notice;
    current.timer = timeoutMs === undefined ? undefined : setTimeout(() => clearEntry(current.entry), timeoutMs);
  };

  return {
    show(topic, notice) {
      // The same notice again on the same topic: keep it where it is, and restart its timeout.
      const same = rendered.find((r) => r.entry.topic === topic && sameNotice(r.entry.notice, notice));
      if (same !== undefined) {
        startTimer(same);
        return;
      }
      const next = withNotice(
        rendered.map((r) => r.entry),
        topic,
        notice,
      );
      for (const r of rendered) if (!next.includes(r.entry)) clearEntry(r.entry);
      const entry = next[next.length - 1];
      const current: Rendered = { entry, element: renderNotice(topic, notice), timer: undefined };
      container.append(current.element);
      rendered.push(current);
      startTimer(current);
      // A field (the link to copy) is selected, ready for Ctrl+C.
      const field = current.element.querySelector('input');
      field?.focus();
      field?.select();
    },
    clear(topic) {
      for (const r of rendered.filter((r) => r.entry.topic === topic)) clearEntry(r.entry);
    },
    kindOf: (topic) => rendered.find((r) => r.entry.topic === topic)?.entry.notice.kind,
  };
}

function renderNotice(topic: NoticeTopic, notice: Notice): HTMLElement {
  const element = document.createElement('p');
  element.className = `notice ${notice.tone}`;
  element.dataset['kind'] = notice.kind;
  element.dataset['topic'] = topic;
  element.textContent = notice.text;
  if (notice.field !== undefined) {
    const field = document.createElement('input');
    field.className = 'notice-field';
    field.readOnly = true;
    field.value = notice.field;
    field.dataset['testid'] = 'notice-field';
    field.setAttribute('aria-label', notice.text);
    field.addEventListener('focus', () => field.select());
    element.append(field);
  }
  if (notice.link !== undefined) {
    const anchor = document.createElement('a');
    anchor.href = notice.link.href;
    anchor.textContent = notice.link.text;
    element.append(' ', anchor);
  }
  return element;
}
