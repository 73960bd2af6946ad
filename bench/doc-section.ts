/**
 * A benchmark's section in a Markdown document, between its begin and end markers (HTML
 * comments), so each bench rewrites its own section and leaves the rest of the page alone.
 */

/** The markers around one section. */
export interface SectionMarkers {
  readonly begin: string;
  readonly end: string;
}

/** The section of `document` between `markers`, markers included, if it has one. */
export function sectionOf(document: string, markers: SectionMarkers): string | undefined {
  const begin = document.indexOf(markers.begin);
  const end = document.indexOf(markers.end);
  return begin >= 0 && end > begin ? document.slice(begin, end + markers.end.length) : undefined;
}

/**
 * `document` with its section replaced by `section`; without one, `section` goes before
 * `notesMarker` when given and present, else at the end.
 */
export function withSection(document: string, section: string, markers: SectionMarkers, notesMarker?: string): string {
  const begin = document.indexOf(markers.begin);
  const end = document.indexOf(markers.end);
  if (begin >= 0 && end > begin) return document.slice(0, begin) + section + document.slice(end + markers.end.length);
  const notes = notesMarker === undefined ? -1 : document.indexOf(notesMarker);
  if (notes >= 0) return `${document.slice(0, notes)}${section}\n\n${document.slice(notes)}`;
  return `${document.trimEnd()}\n\n${section}\n`;
}
