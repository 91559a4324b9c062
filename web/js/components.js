// Pieces several views show: a job's state, its progress, a live image.

import {h, setText} from "./dom.js";
import {aboutSeconds, percent} from "./format.js";

export const STATES = ["queued", "running", "succeeded", "failed", "canceled"];

export function stateBadge(state) {
  return h(`span.badge.state-${STATES.includes(state) ? state : "unknown"}`, {}, state);
}

/** <progress> with its percentage beside it; update(fraction) moves both. */
export function progressBar(label) {
  const bar = h("progress", {max: 1, value: 0, "aria-label": label});
  const text = h("span.progress-text", {}, "0 %");
  const el = h("div.progress", {}, bar, text);
  return {
    el,
    update(fraction) {
      const value = Math.max(0, Math.min(1, fraction || 0));
      if (bar.value !== value) bar.value = value;
      setText(text, percent(value));
    },
  };
}

/** "#3 · about 40 s" for a queued job; "about 12 s left" for a running one. */
export function etaText(job) {
  if (job.state === "queued") {
    const place = job.position ? `#${job.position}` : "queued";
    return job.eta_seconds === null || job.eta_seconds === undefined
      ? place : `${place} · ${aboutSeconds(job.eta_seconds)}`;
  }
  if (job.state === "running") {
    return job.eta_seconds === null || job.eta_seconds === undefined
      ? "running" : `${aboutSeconds(job.eta_seconds)} left`;
  }
  return "";
}

/**
 * A frame for an image fetched with the token (api.ImageResource); shows a
 * placeholder text until there is one. set(url) swaps the picture in place.
 */
export function imageFrame(alt, placeholder) {
  const img = h("img", {alt, hidden: true, decoding: "async"});
  const note = h("span.placeholder", {}, placeholder);
  const el = h("figure.frame", {}, img, note);
  return {
    el,
    img,
    set(url) {
      if (!url) {
        img.hidden = true;
        note.hidden = false;
        return;
      }
      if (img.getAttribute("src") !== url) img.src = url;
      img.hidden = false;
      note.hidden = true;
    },
    placeholder(text) {
      setText(note, text);
    },
  };
}

/** A message box; kind: "error" | "warning" | "info" | "success". */
export function notice(kind, title, ...body) {
  return h(`div.notice.notice-${kind}`, {role: kind === "error" ? "alert" : "status"},
           h("strong", {}, title), body.length ? h("div", {}, ...body) : null);
}
