/**
 * Writes to the page that happen only when they change something. The call page renders on every
 * snapshot of the call, many times a second while a call is set up, and most renders change
 * nothing. A write of the same value is not free: new text replaces the element's text node, so
 * the browser lays out, paints and rasters that part of the page again, and a live region
 * (the call's status is one) may be read out again. An attribute written again is a mutation
 * too. Reading the current value is cheap in comparison.
 *
 * Classes need no helper: `classList.toggle(name, force)` writes only on a change (whereas
 * `classList.add` and `classList.remove` write the attribute every time).
 */

/** Sets the element's text, if it is different. */
export function setText(element: Element, text: string): void {
  if (element.textContent !== text) element.textContent = text;
}

/** Sets an attribute, if its value is different. */
export function setAttribute(element: Element, name: string, value: string): void {
  if (element.getAttribute(name) !== value) element.setAttribute(name, value);
}

/** Sets a `data-*` attribute (by its `dataset` key), if its value is different. */
export function setData(element: HTMLElement, key: string, value: string): void {
  if (element.dataset[key] !== value) element.dataset[key] = value;
}

/** Shows or hides the element (its `hidden` attribute), if that changes it. */
export function setHidden(element: HTMLElement, hidden: boolean): void {
  if (element.hidden !== hidden) element.hidden = hidden;
}

/** Enables or disables a control, if that changes it. */
export function setDisabled(control: HTMLButtonElement | HTMLSelectElement, disabled: boolean): void {
  if (control.disabled !== disabled) control.disabled = disabled;
}
