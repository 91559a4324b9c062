// Live views by polling, where the event streams (events.js) cannot serve:
// no connection is held open between two polls, so a viewer never keeps a
// responder thread (SPEC "Web console"). Each poll is a conditional GET
// (api.js), so a quiet queue answers 304 with no body.
//
// - every poller waits while the tab is hidden and polls at once when it shows;
// - an error backs off (doubling up to a minute, with jitter) and honours Retry-After;
// - the connection indicator shows the worst state among the live pollers, and
//   says so when an event stream is delivering (a stream's own failures are
//   not shown: its view polls meanwhile).

import {ApiError} from "./api.js";

export const INTERVAL_MS = 2000;  // the worker reports progress at least every 2 s
const MAX_BACKOFF_MS = 60000;

const pollers = new Set();  // Pollers and EventStreams (kind "stream")
const listeners = new Set();
let paused = false;  // the user's pause toggle

/** state: "live" | "paused" | "hidden" | "retrying" | "offline"; detail: words for people. */
export function onConnectionChange(listener) {
  listeners.add(listener);
  listener(connection());
}

export function connection() {
  if (paused) return {state: "paused", detail: "Live updates paused"};
  if (document.hidden) return {state: "hidden", detail: "Paused while the tab is hidden"};
  let worst = null;
  for (const p of pollers) {
    if (p.kind === "stream") continue;
    if (p.failures > 0 && (!worst || p.failures > worst.failures)) worst = p;
  }
  if (!worst) {
    if ([...pollers].some((p) => p.kind === "stream" && p.up)) {
      return {state: "live", detail: "Live: events as they happen"};
    }
    const quiet = [...pollers].reduce((n, p) => n + p.notModified, 0);
    return {state: "live", detail: `Live: updates every ${INTERVAL_MS / 1000} s` +
                                   (quiet ? ` (${quiet} polls answered “not modified”)` : "")};
  }
  const seconds = Math.max(1, Math.round((worst.nextAt - Date.now()) / 1000));
  if (worst.lastError?.status === 0) {
    return {state: "offline", detail: `Cannot reach the server; retrying in ${seconds} s`};
  }
  return {state: "retrying", detail: `${worst.lastError?.message || "Server error"}; retrying in ${seconds} s`};
}

function notify() {
  const c = connection();
  for (const listener of listeners) listener(c);
}

/** Live sources (Pollers, EventStreams) the indicator and the pause toggle know. */
export function track(source) {
  pollers.add(source);
  notify();
}

export function untrack(source) {
  pollers.delete(source);
  notify();
}

/** A source's state changed: redraw the indicator. */
export function changed() {
  notify();
}

export function setPaused(value) {
  paused = value;
  for (const p of pollers) {
    if (!paused) p.kick();
    else p.pause?.();
  }
  notify();
}

export function isPaused() {
  return paused;
}

document.addEventListener("visibilitychange", () => {
  if (!document.hidden) for (const p of pollers) p.kick();
  notify();
});

/**
 * Calls `task(signal)` now and then every `interval` ms while started. `task`
 * resolves when its poll is done and may throw ApiError; 401 stops nothing here
 * (api.js signs the tab out, which stops every poller).
 */
export class Poller {
  constructor(task, {interval = INTERVAL_MS} = {}) {
    this.task = task;
    this.interval = interval;
    this.failures = 0;
    this.lastError = null;
    this.nextAt = 0;
    this.timer = null;
    this.running = false;
    this.controller = null;
    this.started = false;
  }

  get notModified() {
    return this.countNotModified ? this.countNotModified() : 0;
  }

  start() {
    if (this.started) return this;
    this.started = true;
    pollers.add(this);
    this.kick();
    return this;
  }

  stop() {
    this.started = false;
    pollers.delete(this);
    clearTimeout(this.timer);
    this.controller?.abort();
    notify();
  }

  /** Polls every `interval` ms from the next poll on (a stream is live: poll seldom). */
  setInterval(interval) {
    this.interval = interval;
    if (this.started && !this.running && this.failures === 0) this.schedule(interval);
  }

  /** Polls now unless the poller may not poll; a poll in flight is followed by another. */
  kick() {
    if (this.running) {
      this.again = true;
      return;
    }
    clearTimeout(this.timer);
    if (!this.started || paused || document.hidden) return;
    if (this.failures > 0 && Date.now() < this.nextAt) {
      this.schedule(this.nextAt - Date.now());
      return;
    }
    this.run();
  }

  schedule(delay) {
    clearTimeout(this.timer);
    this.nextAt = Date.now() + delay;
    this.timer = setTimeout(() => this.kick(), delay);
  }

  async run() {
    this.running = true;
    this.controller = new AbortController();
    try {
      await this.task(this.controller.signal);
      this.failures = 0;
      this.lastError = null;
      this.schedule(this.interval);
    } catch (e) {
      if (e.name === "AbortError") return;
      this.failures += 1;
      this.lastError = e instanceof ApiError ? e : new ApiError(0, null, null);
      const backoff = Math.min(MAX_BACKOFF_MS, this.interval * 2 ** this.failures);
      const retryAfter = (this.lastError.retryAfter || 0) * 1000;
      this.schedule(Math.max(retryAfter, backoff * (0.75 + Math.random() * 0.5)));
      if (!(e instanceof ApiError)) console.error("poll failed:", e);  // a bug, not the network
    } finally {
      this.running = false;
      if (this.again) {
        this.again = false;
        if (this.failures === 0) this.kick();
      }
      notify();
    }
  }
}
