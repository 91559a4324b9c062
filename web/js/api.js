// The public API, as the console uses it: the token from the tab's session,
// RFC 9457 problems as values, conditional GETs (ETag / If-None-Match -> 304).
// Nothing here knows about the page.

const TOKEN_KEY = "renderq.token";

/** The tab's token, or null. sessionStorage: gone when the tab closes, never in a URL. */
export function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function setToken(value) {
  sessionStorage.setItem(TOKEN_KEY, value);
}

export function clearToken() {
  sessionStorage.removeItem(TOKEN_KEY);
}

/**
 * An answer that is not a success: the problem body (RFC 9457) when there was
 * one, the status, and Retry-After in seconds when the server sent it.
 */
export class ApiError extends Error {
  constructor(status, problem, retryAfter) {
    super(problem?.detail || problem?.title || (status ? `HTTP ${status}` : "network error"));
    this.status = status;          // 0: no answer (offline, TLS, aborted)
    this.problem = problem || null;
    this.retryAfter = retryAfter;  // seconds, or null
  }

  /** "invalid-scene" from "urn:renderq:problem:invalid-scene", or "". */
  get kind() {
    const type = this.problem?.type || "";
    return type.startsWith("urn:renderq:problem:") ? type.slice("urn:renderq:problem:".length) : "";
  }
}

function retryAfterSeconds(response) {
  const value = response.headers.get("Retry-After");
  if (!value) return null;
  if (/^\d+$/.test(value.trim())) return Number(value);
  const date = Date.parse(value);
  return Number.isNaN(date) ? null : Math.max(0, (date - Date.now()) / 1000);
}

async function problemOf(response) {
  const type = response.headers.get("Content-Type") || "";
  if (!type.startsWith("application/problem+json") && !type.startsWith("application/json")) {
    return null;
  }
  try {
    return await response.json();
  } catch {
    return null;
  }
}

/** Listeners told about every 401, so the app can sign out in one place. */
const unauthorizedListeners = new Set();
export function onUnauthorized(listener) {
  unauthorizedListeners.add(listener);
}

/**
 * fetch() with the token. Resolves to the Response for 2xx and 304; rejects
 * with an ApiError otherwise (status 0 when there was no answer at all).
 */
export async function request(path, {method = "GET", headers = {}, body, signal} = {}) {
  const sent = {...headers};
  const current = token();
  if (current && !sent.Authorization) sent.Authorization = `Bearer ${current}`;
  let response;
  try {
    // no-store: this module keeps what it needs and revalidates it itself, so the
    // browser's cache never hands back another token's answer.
    response = await fetch(path, {method, headers: sent, body, signal, cache: "no-store",
                                  credentials: "omit", redirect: "error"});
  } catch (e) {
    if (e.name === "AbortError") throw e;
    throw new ApiError(0, null, null);
  }
  if (response.ok || response.status === 304) return response;
  const error = new ApiError(response.status, await problemOf(response),
                             retryAfterSeconds(response));
  if (response.status === 401) for (const listener of unauthorizedListeners) listener(error);
  throw error;
}

/**
 * A JSON resource polled with conditional GETs: get() sends the ETag of the last
 * answer and, on 304, gives back the body it already had.
 */
export class Resource {
  constructor(path) {
    this.path = path;
    this.etag = null;
    this.value = null;
    this.notModified = 0;  // how many polls were answered 304 (shown in the status bar's title)
  }

  /** {value, changed}. */
  async get(signal) {
    const headers = this.etag && this.value !== null ? {"If-None-Match": this.etag} : {};
    const response = await request(this.path, {headers, signal});
    if (response.status === 304) {
      this.notModified += 1;
      return {value: this.value, changed: false};
    }
    this.value = await response.json();
    this.etag = response.headers.get("ETag");
    return {value: this.value, changed: true};
  }
}

/** An image (or a kind's other output) fetched with the token (an <img src> cannot send one), as a blob: URL. */
export class ImageResource {
  constructor(path) {
    this.path = path;
    this.etag = null;
    this.url = null;
    this.bytes = 0;
    this.type = "";
  }

  /** The blob: URL of the newest image, or null while there is none (404). */
  async get(signal) {
    const headers = this.etag && this.url ? {"If-None-Match": this.etag} : {};
    let response;
    try {
      response = await request(this.path, {headers, signal});
    } catch (e) {
      if (e instanceof ApiError && (e.status === 404 || e.status === 409)) return this.url;
      throw e;
    }
    if (response.status === 304) return this.url;
    const blob = await response.blob();
    if (blob.size === 0) return this.url;
    this.release();
    this.url = URL.createObjectURL(blob);
    this.bytes = blob.size;
    this.type = blob.type;  // a kind's output_media_type (the built-in renderer's: image/png)
    this.etag = response.headers.get("ETag");
    return this.url;
  }

  release() {
    if (this.url) URL.revokeObjectURL(this.url);
    this.url = null;
    this.etag = null;
  }
}

export const api = {
  queue: () => new Resource("/api/v1/queue"),
  job: (id) => new Resource(`/api/v1/jobs/${encodeURIComponent(id)}`),
  jobs({state, cursor, limit} = {}) {
    const query = new URLSearchParams();
    if (state) query.set("state", state);
    if (limit) query.set("limit", String(limit));
    if (cursor) query.set("cursor", cursor);
    const text = query.toString();
    return new Resource(`/api/v1/jobs${text ? `?${text}` : ""}`);
  },
  preview: (id) => new ImageResource(`/api/v1/jobs/${encodeURIComponent(id)}/preview`),
  result: (id) => new ImageResource(`/api/v1/jobs/${encodeURIComponent(id)}/result`),

  kinds: () => new Resource("/api/v1/kinds"),

  /**
   * POST a job's input (text as typed): a scene, or the input of `kind`
   * (SPEC "job kinds"); resolves to {job, replayed}.
   */
  async submit(sceneText, idempotencyKey, kind = "scene") {
    const path = kind === "scene" ? "/api/v1/jobs" : `/api/v1/kinds/${encodeURIComponent(kind)}/jobs`;
    const response = await request(path, {
      method: "POST",
      headers: {"Content-Type": "application/json", "Idempotency-Key": idempotencyKey},
      body: sceneText,
    });
    return {job: await response.json(),
            replayed: response.headers.get("Idempotent-Replayed") === "true"};
  },

  /** POST .../retry: a failed or canceled job queued again; resolves to the job. */
  async retry(id) {
    const response = await request(`/api/v1/jobs/${encodeURIComponent(id)}/retry`, {method: "POST"});
    return response.json();
  },

  /** DELETE a job; resolves to {job, status} (200 canceled, 202 stop requested). */
  async cancel(id) {
    const response = await request(`/api/v1/jobs/${encodeURIComponent(id)}`, {method: "DELETE"});
    return {job: await response.json(), status: response.status};
  },
};
