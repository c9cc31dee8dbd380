/** What a page leaves behind (charts, listeners) is cleaned up when the router shows the next one. */
const disposers = new Set<() => void>();

/** Runs `fn` when the current page is left. */
export function onLeave(fn: () => void): void {
  disposers.add(fn);
}

/** Called by the router before it renders the next page. */
export function leavePage(): void {
  for (const fn of disposers) fn();
  disposers.clear();
}

let shownAt = 0;
/**
 * When the page being shown was asked for, on performance.now()'s clock: 0 (navigation start)
 * for the document's first page, the hashchange event's time for a page opened in the app.
 */
export function pageRequestedAt(): number {
  return shownAt;
}

/** Called by the router with the hashchange event's time. */
export function pageRequested(at: number): void {
  shownAt = at;
}
