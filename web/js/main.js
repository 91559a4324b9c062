// The console's entry point: the session, the router (#/..., so no route ever
// reaches the server and job ids stay out of query strings) and the top bar.

import {clearToken, onUnauthorized, token} from "./api.js";
import {setText} from "./dom.js";
import {isPaused, onConnectionChange, setPaused} from "./poller.js";
import {mountJob} from "./views/job.js";
import {mountJobs} from "./views/jobs.js";
import {mountQueue} from "./views/queue.js";
import {mountSignIn} from "./views/signin.js";
import {mountSubmit} from "./views/submit.js";

const main = document.getElementById("main");
const nav = document.getElementById("nav");
const signOutButton = document.getElementById("sign-out");
const connectionButton = document.getElementById("connection");
let unmount = null;
let signOutReason = null;

/** "#/jobs/abc?state=x" -> {path: ["jobs", "abc"], query: URLSearchParams}. */
export function currentRoute() {
  const hash = location.hash.replace(/^#\/?/, "");
  const [pathPart, queryPart = ""] = hash.split("?");
  return {path: pathPart.split("/").filter(Boolean).map(decodeURIComponent),
          query: new URLSearchParams(queryPart)};
}

/** Goes to `path` (with `query`), adding a history entry unless `replace`. */
export function navigate(path, query = {}, {replace = false} = {}) {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v) params.set(k, v);
  const text = params.toString();
  const hash = `#${path}${text ? `?${text}` : ""}`;
  if (replace) history.replaceState(null, "", hash);
  else history.pushState(null, "", hash);
  render();
}

function signOut(reason) {
  clearToken();
  signOutReason = reason || null;
  render();
}

function render() {
  unmount?.();
  unmount = null;
  const route = currentRoute();
  const signedIn = Boolean(token());
  nav.hidden = !signedIn;
  signOutButton.hidden = !signedIn;
  connectionButton.hidden = !signedIn;
  const [first, second] = route.path;
  const name = !signedIn ? "signin" : first === "submit" ? "submit" : first === "jobs" ? (second ? "job" : "jobs") : "queue";
  for (const link of nav.querySelectorAll("a")) {
    const here = link.dataset.route === name || (name === "job" && link.dataset.route === "jobs");
    if (here) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  main.replaceChildren();
  const context = {navigate, route, signOut};
  if (name === "signin") {
    unmount = mountSignIn(main, {...context, reason: signOutReason, onSignedIn: () => {
      signOutReason = null;
      render();
    }});
  } else if (name === "submit") {
    unmount = mountSubmit(main, context);
  } else if (name === "jobs") {
    unmount = mountJobs(main, context);
  } else if (name === "job") {
    unmount = mountJob(main, {...context, id: second});
  } else {
    unmount = mountQueue(main, context);
  }
}

const LABELS = {live: "Live", paused: "Paused", hidden: "Paused", retrying: "Retrying", offline: "Offline"};

onConnectionChange(({state, detail}) => {
  connectionButton.dataset.state = state;
  setText(document.getElementById("connection-label"), LABELS[state] || state);
  setText(document.getElementById("connection-detail"), detail);
  connectionButton.title = `${detail}. Click to ${isPaused() ? "resume" : "pause"}.`;
  connectionButton.setAttribute("aria-pressed", String(isPaused()));
});
connectionButton.addEventListener("click", () => setPaused(!isPaused()));
signOutButton.addEventListener("click", () => signOut("You signed out."));
onUnauthorized(() => {
  if (token()) signOut("The server no longer accepts this token (unknown or revoked). Sign in with a current one.");
});
// Back, forward and typed #/... fragments all fire popstate (hashchange would render twice).
window.addEventListener("popstate", render);
render();
