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
