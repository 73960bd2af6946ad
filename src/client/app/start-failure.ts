/**
 * What the page shows when it could not start (the rest of the app failed to load, or threw while
 * starting): a plain message in place of the call state, so the page never says "Starting" forever.
 */

/** Shows `error` on the page (once the document is parsed) and logs it. */
export function showStartFailure(error: unknown): void {
  console.error(error);
  whenParsed(() => {
    const callState = document.querySelector<HTMLElement>('[data-testid="call-state"]');
    const notices = document.querySelector<HTMLElement>('[data-testid="notice"]');
    if (callState !== null) {
      callState.textContent = 'Something went wrong';
      callState.dataset['status'] = 'error';
    }
    const message = document.createElement('p');
    message.className = 'notice error';
    message.textContent = `The page could not start: ${error instanceof Error ? error.message : String(error)}`;
    notices?.append(message);
  });
}

/**
 * Calls `then` once the document is parsed: at once if it is, else on `DOMContentLoaded`. The
 * app's first chunk is an `async` script, which may run while the page is still being parsed.
 */
export function whenParsed(then: () => void): void {
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', then, { once: true });
  else then();
}
