// Live events (SPEC "Notifications"): a Server-Sent Event stream read with
// fetch(), since EventSource cannot send the bearer token. nginx holds the
// stream, so an open one costs the responder nothing.
//
// A stream starts with a `state` event per job it shows, then sends one on
// each change and `progress` events; a job's stream ends after its terminal
// state. When the stream cannot be had (the server answers an error, or the
// connection drops and will not come back) the view falls back to polling:
// `onDown` is called, and the stream is tried again with back-off; `onUp`
// once it delivers again.

import {ApiError, request} from "./api.js";
import {changed, INTERVAL_MS, isPaused, track, untrack} from "./poller.js";
import {SseParser} from "./sse_parser.js";

const FIRST_RETRY_MS = 1000;
const MAX_RETRY_MS = 30000;
// The server sends a stream's first events at once and a comment every 15 s:
// silence longer than these means the connection is gone without a word.
const FIRST_BYTES_MS = 10000;
const SILENCE_MS = 45000;

/**
 * One event stream of the API. handlers: onEvent({event, data, id}) with
 * `data` parsed from JSON; onEnd() when the server ends the stream, which
 * returns true to open it again (a job's stream ends after its terminal
 * state; any stream ends when the dispatcher restarts); onDown(error) /
 * onUp() as above. While updates are paused (the top bar's toggle) the
 * stream is closed, and opened again, with fresh first events, on resume.
 */
export class EventStream {
  constructor(path, {onEvent, onEnd = () => true, onDown = () => {}, onUp = () => {}}) {
    this.path = path;
    this.kind = "stream";
    this.handlers = {onEvent, onEnd, onDown, onUp};
    this.paused = false;
    this.failures = 0;
    this.lastError = null;
    this.nextAt = 0;
    this.notModified = 0;
    this.up = false;
    this.started = false;
    this.controller = null;
    this.timer = null;
    this.lastEventId = null;
  }

  start() {
    this.started = true;
    track(this);
    this.connect();
    return this;
  }

  stop() {
    this.started = false;
    clearTimeout(this.timer);
    this.controller?.abort();
    untrack(this);
  }

  /** Called by poller.js when updates resume or the tab shows again. */
  kick() {
    if (!this.started || !this.paused) return;
    this.paused = false;
    this.connect();
  }

  /** Called by poller.js when the user pauses updates. */
  pause() {
    this.paused = true;
    clearTimeout(this.timer);
    this.timer = null;
    this.controller?.abort();
  }

  async connect() {
    this.timer = null;
    // A hidden tab makes no new requests, as the pollers make none: an open
    // stream stays open, but one that failed or ended waits for the tab to show.
    if (isPaused() || document.hidden) {
      this.paused = true;
      return;
    }
    this.controller = new AbortController();
    const headers = {Accept: "text/event-stream"};
    if (this.lastEventId) headers["Last-Event-ID"] = this.lastEventId;
    let ended = false;
    let heard = Date.now();
    let silent = false;
    const controller = this.controller;
    const watchdog = setInterval(() => {
      if (Date.now() - heard > (this.up ? SILENCE_MS : FIRST_BYTES_MS)) {
        silent = true;
        controller.abort();
      }
    }, 1000);
    try {
      const response = await request(this.path, {headers, signal: this.controller.signal});
      if (!(response.headers.get("Content-Type") || "").startsWith("text/event-stream")) {
        throw new ApiError(response.status, null, null);
      }
      const reader = response.body.getReader();
      const decoder = new TextDecoder();
      const parser = new SseParser((e) => this.deliver(e));
      for (;;) {
        const {value, done} = await reader.read();
        if (done) break;
        heard = Date.now();
        parser.push(decoder.decode(value, {stream: true}));
      }
      ended = true;
    } catch (e) {
      if (e.name === "AbortError" && !silent) return;
      this.fail(e instanceof ApiError ? e : new ApiError(0, null, null));
      return;
    } finally {
      clearInterval(watchdog);
      this.controller = null;
    }
    if (ended && this.started) {
      this.up = false;
      if (this.handlers.onEnd()) {
        this.lastEventId = null;
        this.timer = setTimeout(() => this.connect(), FIRST_RETRY_MS);
      } else {
        this.stop();
      }
      changed();
    }
  }

  deliver({id, event, data}) {
    if (id) this.lastEventId = id;
    if (!this.up) {
      this.up = true;
      this.failures = 0;
      this.lastError = null;
      this.handlers.onUp();
      changed();
    }
    let parsed;
    try {
      parsed = JSON.parse(data);
    } catch {
      return;  // not one of ours
    }
    this.handlers.onEvent({id, event, data: parsed});
  }

  fail(error) {
    const wasUp = this.up;
    this.up = false;
    this.failures += 1;
    this.lastError = error;
    if (!this.started) return;
    if (error.status === 401) return;  // api.js signs the tab out
    const backoff = Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** (this.failures - 1));
    const delay = Math.max((error.retryAfter || 0) * 1000, backoff * (0.75 + Math.random() * 0.5));
    this.nextAt = Date.now() + delay;
    this.timer = setTimeout(() => this.connect(), delay);
    if (wasUp || this.failures === 1) this.handlers.onDown(error);
    changed();
  }
}

/**
 * The owner's stream (/api/v1/events) beside a view's poller: a `state` event
 * polls at once, a `progress` event moves that job's view (`views`: job id ->
 * an object with `job` and `update(job)`); while the stream is live the
 * poller waits `pollWithStreamMs` between polls, else its usual INTERVAL_MS.
 * Returns the started stream, for the view to stop.
 */
export function followOwnerEvents(poller, views, pollWithStreamMs) {
  return new EventStream("/api/v1/events", {
    onEvent: ({event, data}) => {
      if (event === "state") {
        poller.kick();
      } else if (event === "progress") {
        const view = views.get(data.id);
        if (view) view.update({...view.job, progress: data.progress, eta_seconds: data.eta_seconds});
      }
    },
    onUp: () => poller.setInterval(pollWithStreamMs),
    onDown: () => poller.setInterval(INTERVAL_MS),
  }).start();
}
