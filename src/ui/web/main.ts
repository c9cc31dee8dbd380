import "./style.css";
import { authorization, signIn, signOut, unauthorizedListeners } from "./api.js";
import { clear, field, h } from "./dom.js";
import { leavePage, pageRequested } from "./lifecycle.js";
// The experiments list and the runs table are in the entry bundle (a few KiB): a link to an
// experiment renders without waiting for a page chunk, then a chunk it imports. Pages with
// charts load theirs on demand.
import { renderExperiments } from "./pages/experiments.js";
import { renderRuns } from "./pages/runs.js";

/**
 * Hash routes, so any page (a run, a comparison, a filtered table) is a link that can be shared.
 * Pages load on demand: the runs table does not wait for the charting libraries.
 */
const ROUTES: Array<[RegExp, (main: HTMLElement, m: RegExpExecArray) => Promise<void>]> = [
  [/^\/?$/, (main) => renderExperiments(main)],
  [/^\/experiments\/?$/, (main) => renderExperiments(main)],
  [/^\/experiments\/([^/]+)\/?$/, (main, m) => renderRuns(main, decodeURIComponent(m[1]))],
  [/^\/runs\/([^/]+)\/?$/, async (main, m) => (await import("./pages/run.js")).renderRun(main, decodeURIComponent(m[1]))],
  [/^\/compare\/?$/, async (main) => (await import("./pages/compare.js")).renderCompare(main)],
  [/^\/models\/?$/, async (main) => (await import("./pages/registry.js")).renderModels(main)],
  [/^\/models\/(.+?)\/?$/, async (main, m) => (await import("./pages/registry.js")).renderModel(main, decodeURIComponent(m[1]))],
  [/^\/pipeline\/?$/, async (main) => (await import("./pages/pipeline.js")).renderPipeline(main)],
];

const NAV: Array<[string, string, RegExp]> = [
  ["Experiments", "#/experiments", /^\/($|experiments|runs|compare)/],
  ["Models", "#/models", /^\/models/],
  ["Pipeline", "#/pipeline", /^\/pipeline/],
];

const main = h("main", { id: "main", tabindex: -1 });
const nav = h("nav", { "aria-label": "Sections" });
const authButton = h("button", { type: "button", class: "secondary", id: "auth-button" });
const dialog = buildSignInDialog();

function routePath(): string {
  const raw = location.hash.replace(/^#/, "");
  return raw.split("?")[0] || "/";
}

let generation = 0;
async function route(): Promise<void> {
  const path = routePath();
  const gen = ++generation;
  leavePage();
  clear(main);
  main.setAttribute("aria-busy", "true");
  clear(nav);
  for (const [label, href, re] of NAV) nav.append(h("a", { href, "aria-current": re.test(path) ? "page" : null }, label));
  for (const [re, render] of ROUTES) {
    const m = re.exec(path);
    if (!m) continue;
    try {
      await render(main, m);
    } catch (err) {
      if (gen !== generation) return;
      main.append(h("p", { class: "error", role: "alert" }, (err as Error).message));
    }
    if (gen === generation) {
      main.setAttribute("aria-busy", "false");
      const heading = main.querySelector("h1");
      if (heading && document.activeElement === document.body) (heading as HTMLElement).focus({ preventScroll: true });
    }
    return;
  }
  main.append(h("h1", { tabindex: -1 }, "Not found"), h("p", {}, "No page at ", h("code", {}, path), ". ", h("a", { href: "#/experiments" }, "Experiments")));
  main.setAttribute("aria-busy", "false");
}

function updateAuthButton(): void {
  authButton.textContent = authorization() ? "Sign out" : "Sign in";
}

function buildSignInDialog(): HTMLDialogElement {
  const token = h("input", { type: "password", autocomplete: "off" });
  const user = h("input", { type: "text", autocomplete: "username" });
  const pass = h("input", { type: "password", autocomplete: "current-password" });
  const form = h(
    "form",
    { method: "dialog", class: "stack" },
    h("h2", {}, "Sign in to this server"),
    h("p", {}, "Use the credentials the server was started with (--auth-token, or --auth user:password). They stay in this browser tab only."),
    field("Token", token),
    h("p", { class: "muted" }, "or"),
    field("Username", user),
    field("Password", pass),
    h(
      "div",
      { class: "row" },
      h("button", { type: "submit", value: "ok" }, "Sign in"),
      h("button", { type: "submit", value: "cancel", class: "secondary", formnovalidate: true }, "Cancel"),
    ),
  );
  const d = h("dialog", { "aria-label": "Sign in" }, form);
  d.addEventListener("close", () => {
    if (d.returnValue === "ok" && (token.value || user.value)) {
      signIn({ token: token.value || undefined, username: user.value || undefined, password: pass.value });
      token.value = pass.value = "";
      updateAuthButton();
      void route();
    }
  });
  return d;
}

authButton.addEventListener("click", () => {
  if (authorization()) {
    signOut();
    updateAuthButton();
    void route();
  } else dialog.showModal();
});
unauthorizedListeners.add(() => authButton.classList.add("attention"));

document.body.append(h("header", { class: "top" }, h("a", { href: "#/experiments", class: "brand" }, "Polarity"), nav, authButton), main, dialog);
updateAuthButton();
window.addEventListener("hashchange", (ev) => {
  pageRequested(ev.timeStamp);
  void route();
});
void route();
