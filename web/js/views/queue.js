// The queue: what is waiting (own jobs with place and predicted finish), what is
// running (progress and, for own jobs, the live preview), the workers, and how
// long a new job would wait. One poll reads /queue and the own queued jobs.
//
// The owner's event stream (/api/v1/events) moves the own jobs' progress bars
// as the worker reports and refreshes the page at once when an own job
// changes state; while it is live, the page polls only every 10 s, for what
// no event carries (other tokens' jobs, the workers).

import {api} from "../api.js";
import {etaText, imageFrame, notice, progressBar} from "../components.js";
import {h, replace, setText} from "../dom.js";
import {aboutSeconds, shortId, si, sizeText, when} from "../format.js";
import {followOwnerEvents} from "../events.js";
import {Poller} from "../poller.js";

const STALE_HEARTBEAT_SECONDS = 30;
const POLL_WITH_STREAM_MS = 10000;

/** Rebuilds `el` from `children`, keeping keyboard focus on the element with the same data-key. */
function rebuild(el, ...children) {
  const key = el.contains(document.activeElement) ? document.activeElement.dataset.key : null;
  replace(el, ...children);
  if (key) el.querySelector(`[data-key="${CSS.escape(key)}"]`)?.focus();
}

function stat(label, id) {
  const value = h(`span.stat-value#${id}`, {}, "–");
  return {el: h("div.stat", {}, h("span.stat-label", {}, label), value), value};
}

export function mountQueue(main) {
  const queuedStat = stat("Queued", "stat-queued");
  const runningStat = stat("Running", "stat-running");
  const waitStat = stat("A new job starts in", "stat-wait");
  const workersStat = stat("Workers live", "stat-workers");
  const message = h("div");
  const running = h("div.running-list#running", {"aria-live": "off"});
  const queued = h("div#queued");
  const workers = h("div#workers");
  main.append(
    h("div.page-head", {}, h("h1", {}, "Queue"),
      h("a.button.primary", {href: "#/submit"}, "Submit a scene")),
    message,
    h("section.stats", {"aria-label": "Summary"}, queuedStat.el, runningStat.el, waitStat.el, workersStat.el),
    h("section.panel", {"aria-labelledby": "running-title"}, h("h2#running-title", {}, "Running"), running),
    h("section.panel", {"aria-labelledby": "queued-title"}, h("h2#queued-title", {}, "Your queued jobs"), queued),
    h("section.panel", {"aria-labelledby": "workers-title"}, h("h2#workers-title", {}, "Workers"), workers));

  const queueResource = api.queue();
  const mineResource = api.jobs({state: "queued", limit: 100});
  const cards = new Map();     // running job key -> {el, update}
  const previews = new Map();  // own running job id -> ImageResource

  function runningCard(job) {
    const bar = progressBar(job.mine ? `Progress of job ${shortId(job.id)}` : "Progress of another token's job");
    const eta = h("span.eta");
    const frame = job.mine ? imageFrame(`Live preview of job ${shortId(job.id)}`, "Waiting for the first preview…") : null;
    const title = job.mine
      ? h("a", {href: `#/jobs/${job.id}`, "data-key": `run-${job.id}`}, `Job ${shortId(job.id)}`)
      : h("span.muted", {}, "Another token's job");
    const el = h("article.run-card", {"data-mine": String(job.mine)},
      frame ? frame.el : h("div.frame.frame-hidden", {}, h("span.placeholder", {}, "Preview visible to its owner only")),
      h("div.run-body", {}, h("h3", {}, title),
        h("p.muted", {}, `${sizeText(job)} · started ${when(job.started_at)}`),
        bar.el, eta));
    return {
      el, frame, job,
      update(next) {
        this.job = next;
        bar.update(next.progress);
        setText(eta, etaText({...next, state: "running"}));
      },
    };
  }

  async function poll(signal) {
    const [{value: queue, changed}, {value: mine, changed: mineChanged}] =
      await Promise.all([queueResource.get(signal), mineResource.get(signal)]);
    replace(message);
    setText(queuedStat.value, String(queue.queued));
    setText(runningStat.value, String(queue.running.length));
    setText(waitStat.value, queue.workers.length ? aboutSeconds(queue.estimated_wait_seconds) : "no worker");
    const live = queue.workers.filter((w) => w.heartbeat_age_seconds < STALE_HEARTBEAT_SECONDS);
    setText(workersStat.value, `${live.length} of ${queue.workers.length}`);

    // Running: keyed cards, so progress bars move and previews update in place.
    const keys = queue.running.map((job, i) => job.id || `other-${i}`);
    for (const [key, card] of cards) {
      if (!keys.includes(key)) {
        card.el.remove();
        cards.delete(key);
        previews.get(key)?.release();
        previews.delete(key);
      }
    }
    if (queue.running.length === 0) {
      if (!running.querySelector(".empty")) replace(running, h("p.empty", {}, "Nothing is rendering right now."));
    } else {
      running.querySelector(".empty")?.remove();
    }
    queue.running.forEach((job, i) => {
      const key = keys[i];
      let card = cards.get(key);
      if (!card) {
        card = runningCard(job);
        cards.set(key, card);
      }
      running.append(card.el);  // keeps the server's order
      card.update(job);
    });
    // A preview exists once the first pass is done (progress > 0): asking sooner is a 404.
    await Promise.all(queue.running.filter((job) => job.mine && job.id && job.progress > 0).map(async (job) => {
      if (!previews.has(job.id)) previews.set(job.id, api.preview(job.id));
      cards.get(job.id).frame.set(await previews.get(job.id).get(signal));
    }));

    if (mineChanged || changed) {
      const own = mine.jobs.slice().sort((a, b) => (a.position || 0) - (b.position || 0));
      const others = Math.max(0, queue.queued - own.length);
      rebuild(queued, own.length === 0
        ? h("p.empty", {}, queue.queued ? `None of yours; ${queue.queued} from other tokens.` : "The queue is empty.")
        : h("div.table-wrap", {},
            h("table.jobs", {},
              h("thead", {}, h("tr", {}, h("th", {scope: "col"}, "Place and finish"),
                h("th", {scope: "col"}, "Job"), h("th", {scope: "col"}, "Size"),
                h("th", {scope: "col"}, "Submitted"))),
              h("tbody", {}, own.map((job) => h("tr", {},
                h("td.eta-cell", {"data-label": "Place"}, etaText(job)),
                h("td", {"data-label": "Job"}, h("a", {href: `#/jobs/${job.id}`, "data-key": `q-${job.id}`}, shortId(job.id))),
                h("td", {"data-label": "Size"}, sizeText(job)),
                h("td", {"data-label": "Submitted"}, when(job.created_at))))))),
        others && own.length ? h("p.muted", {}, `and ${others} queued by other tokens.`) : null);
      rebuild(workers, queue.workers.length === 0
        ? notice("warning", "No worker has registered.", "Jobs wait until a renderq-worker starts.")
        : h("div.table-wrap", {}, h("table.workers", {},
            h("thead", {}, h("tr", {}, ["Worker", "Device", "State", "Throughput", "Heartbeat"].map((t) => h("th", {scope: "col"}, t)))),
            h("tbody", {}, queue.workers.map((w) => {
              const stale = w.heartbeat_age_seconds >= STALE_HEARTBEAT_SECONDS;
              return h("tr", {},
                h("td", {"data-label": "Worker"}, w.name),
                h("td", {"data-label": "Device"}, w.device,
                  w.fallback ? h("span.badge.fallback", {title: "Asked for a GPU, rendering on the CPU"}, "CPU fallback") : null),
                h("td", {"data-label": "State"}, h(`span.badge.${stale ? "stale" : w.busy ? "busy" : "idle"}`, {},
                  stale ? "not responding" : w.busy ? "rendering" : "idle")),
                h("td", {"data-label": "Throughput"}, w.units_per_second ? `${si(w.units_per_second)} units/s` : "not measured yet"),
                h("td", {"data-label": "Heartbeat"}, stale ? `${Math.round(w.heartbeat_age_seconds)} s ago` : "live"));
            })))));
    }
  }

  const poller = new Poller(async (signal) => {
    try {
      await poll(signal);
    } catch (e) {
      if (e.name !== "AbortError" && e.status !== 401) {
        replace(message, notice("warning", "The queue could not be read.", e.message));
      }
      throw e;
    }
  });
  poller.countNotModified = () => queueResource.notModified + mineResource.notModified;
  poller.start();
  const stream = followOwnerEvents(poller, cards, POLL_WITH_STREAM_MS);
  return () => {
    stream.stop();
    poller.stop();
    for (const preview of previews.values()) preview.release();
  };
}
