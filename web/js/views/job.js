// One job: every field of the job object, its live preview while it runs, the
// final image (with a download link) once it succeeded, or a download of a
// kind's output that is not an image, the error if it failed, cancel with a
// confirmation while it is queued or running, and retry once it failed or was
// canceled.
//
// Updates come from the job's event stream (events.js); while the stream
// cannot be had, the page polls the job instead.

import {api, ApiError} from "../api.js";
import {etaText, imageFrame, notice, progressBar, stateBadge} from "../components.js";
import {announce, h, replace, setText} from "../dom.js";
import {EventStream} from "../events.js";
import {duration, shortId, si, when} from "../format.js";
import {INTERVAL_MS, Poller} from "../poller.js";

const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

/** The job object's fields in the order people read them, and how to show each. */
const FIELDS = [
  ["id", "Id", (v) => h("code", {}, v)],
  ["kind", "Kind", (v) => h("code", {}, v)],
  ["state", "State", (v) => stateBadge(v)],
  ["position", "Place in line", (v) => (v === null ? "–" : `#${v}`)],
  ["progress", "Progress", (v) => `${(v * 100).toFixed(1)} %`],
  ["eta_seconds", "Predicted finish", (v, job) => (v === null ? "–" : etaText(job))],
  ["attempts", "Attempts", String],
  ["cancel_requested", "Cancel requested", (v) => (v ? "yes" : "no")],
  ["created_at", "Submitted", (v) => h("time", {datetime: v}, when(v))],
  ["started_at", "Started", (v) => (v ? h("time", {datetime: v}, when(v)) : "–")],
  ["finished_at", "Finished", (v) => (v ? h("time", {datetime: v}, when(v)) : "–")],
  ["width", "Width", (v) => `${v} px`],
  ["height", "Height", (v) => `${v} px`],
  ["samples", "Samples per pixel", String],
  ["device", "Device", (v) => v ?? "–"],
  ["render_seconds", "Render time", (v) => duration(v)],
  ["samples_per_second", "Samples per second", (v) => si(v)],
  ["error", "Error", (v) => (v ? `${v.code}: ${v.message}` : "–")],
  ["links", "Links", (v) => h("span.links", {}, Object.entries(v || {}).map(([k, url]) => h("span", {}, `${k}: `, h("code", {}, url))))],
];

export function mountJob(main, {id, navigate}) {
  if (!UUID.test(id || "")) return notFound(main);
  const title = h("h1", {}, `Job ${shortId(id)}`);
  const badge = h("span");
  const actions = h("div.actions");
  const message = h("div#job-message");
  const bar = progressBar(`Progress of job ${shortId(id)}`);
  const eta = h("span.eta");
  const progress = h("div.job-progress", {hidden: true}, bar.el, eta);
  const frame = imageFrame(`Image of job ${shortId(id)}`, "No image yet: it appears once the job runs.");
  const download = h("a.button#download", {hidden: true, download: `renderq-${id}.png`}, "Download PNG");
  const fields = h("dl.fields#fields");
  const view = h("div.job-page",
    {}, h("div.page-head", {}, h("div.title-row", {}, title, badge), actions),
    message, progress,
    h("div.job-grid", {},
      h("section.panel.image-panel", {"aria-label": "Image"}, frame.el, download),
      h("section.panel", {"aria-labelledby": "fields-title"}, h("h2#fields-title", {}, "Details"), fields)));
  main.append(view);

  const resource = api.job(id);
  const preview = api.preview(id);
  const result = api.result(id);
  let job = null;
  let shownState = null;
  const dialog = confirmDialog();
  main.append(dialog.el);

  async function retry() {
    try {
      const next = await api.retry(id);
      replace(message, notice("info", "Job queued again.", "It takes its place at the end of the line."));
      announce("Job queued again");
      result.release();
      download.hidden = true;
      frame.set(null);
      render(next);
      follow();
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
      replace(message, notice("error", e.status === 409 ? "Only a failed or canceled job can be retried." : "The job could not be retried.", e.message));
    }
  }

  async function cancel() {
    if (!(await dialog.ask(job))) return;
    try {
      const {job: next, status} = await api.cancel(id);
      replace(message, notice("info", status === 202 ? "Stop requested." : "Job canceled.",
        status === 202 ? "The worker stops within a second." : "It will not run."));
      announce(status === 202 ? "Stop requested" : "Job canceled");
      render(next);
      if (!stream?.up) poller.kick();
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
      replace(message, notice("error", e.status === 409 ? "This job has already finished." : "The job could not be canceled.", e.message));
    }
  }

  function render(next) {
    job = next;
    if (shownState !== job.state) {
      shownState = job.state;
      replace(badge, stateBadge(job.state));
      replace(actions, job.state === "queued" || job.state === "running"
        ? h("button.button.danger#cancel", {type: "button", onclick: cancel, disabled: job.cancel_requested}, "Cancel job")
        : job.state === "failed" || job.state === "canceled"
          ? h("button.button#retry", {type: "button", onclick: retry}, "Retry job")
          : null,
        h("a.button.quiet", {href: "#/jobs"}, "All jobs"));
      if (job.state === "failed") {
        replace(message, notice("error", "The render failed.", h("p", {}, h("code", {}, job.error?.code || "error"), " ", job.error?.message || "")));
      }
      frame.placeholder(job.state === "queued" ? "Waiting in line; the preview appears once it runs."
        : job.state === "running" ? "Rendering; the first preview comes after the first pass."
        : job.state === "succeeded" ? "Loading the image…" : "No image: the job did not finish.");
    }
    progress.hidden = !(job.state === "running" || job.state === "queued");
    bar.update(job.progress);
    setText(eta, etaText(job));
    const cancelButton = actions.querySelector("#cancel");
    if (cancelButton) cancelButton.disabled = job.cancel_requested;
    replace(fields, FIELDS.filter(([key]) => key in job).map(([key, label, show]) => [
      h("dt", {}, label), h("dd", {"data-field": key}, show(job[key], job))]));
  }

  // What a job's state asks of the page besides the fields: the preview while
  // it runs, the image once it succeeded. Resolves true once nothing about the
  // job will change any more.
  async function images(value, signal) {
    if (value.state === "running" && value.progress > 0) {
      frame.set(await preview.get(signal));
      return false;
    }
    if (value.state === "succeeded") {
      if (!result.url) {
        const url = await result.get(signal);
        preview.release();
        // A kind's output may be anything (its output_media_type): images are
        // shown, everything else is offered as a download.
        const image = /^image\/(png|jpeg|gif|webp)$/.test(result.type || "image/png");
        if (image) {
          frame.set(url);
        } else {
          frame.set(null);
          frame.placeholder(`The output is ${result.type || "a file"} (not an image): download it below.`);
        }
        if (url) {
          download.href = url;
          download.download = `renderq-${id}.${extensionOf(result.type)}`;
          setText(download, `Download ${image ? (result.type || "image/png").slice(6).toUpperCase() : "output"}`);
          download.hidden = false;
        }
      }
      return true;
    }
    if (value.state !== "running" && value.state !== "queued") {
      frame.set(null);
      preview.release();
      return true;
    }
    return false;
  }

  function gone() {
    poller.stop();
    stream?.stop();
    view.remove();
    notFound(main);
  }

  // Polling: while no event stream can be had.
  const poller = new Poller(async (signal) => {
    let value;
    let changed;
    try {
      ({value, changed} = await resource.get(signal));
    } catch (e) {
      if (e instanceof ApiError && e.status === 404) return gone();
      throw e;
    }
    if (changed) render(value);
    if (await images(value, signal)) poller.stop();  // nothing about a finished job changes any more
  });

  // The event stream: a `state` event is the whole job; `progress` events move
  // the bar, and the preview is fetched again at most every 2 s.
  let stream = null;
  let previewAt = 0;
  const controller = new AbortController();
  function follow() {
    stream?.stop();
    let finished = false;
    stream = new EventStream(`/api/v1/jobs/${encodeURIComponent(id)}/events`, {
      onEvent: async ({event, data}) => {
        if (event === "state") {
          render(data);
          finished = await images(data, controller.signal).catch(() => false);
        } else if (event === "progress" && job) {
          render({...job, progress: data.progress, eta_seconds: data.eta_seconds});
          if (job.state === "running" && Date.now() - previewAt >= INTERVAL_MS) {
            previewAt = Date.now();
            frame.set(await preview.get(controller.signal).catch(() => preview.url));
          }
        }
      },
      onEnd: () => !finished,  // the job's stream ends after its terminal state
      onDown: (e) => {
        if (e.status === 404) return gone();
        poller.start();
      },
      onUp: () => poller.stop(),
    }).start();
  }
  follow();
  return () => {
    stream?.stop();
    poller.stop();
    controller.abort();
    preview.release();
    result.release();
    dialog.el.remove();
  };

  function notFound(container) {
    container.append(h("section.panel.not-found", {},
      h("h1", {}, "No such job"),
      h("p", {}, "There is no job with this id for your token. A job of another token is never shown."),
      h("a.button", {href: "#/jobs", onclick: (event) => {
        event.preventDefault();
        navigate("/jobs");
      }}, "Your jobs")));
    return () => {};
  }
}

/** A file name extension for a result of `type` (a kind's output_media_type). */
function extensionOf(type) {
  const known = {"image/png": "png", "image/jpeg": "jpg", "application/json": "json", "text/plain": "txt"};
  const base = (type || "image/png").split(";")[0].trim();
  return known[base] || (/^[a-z]+\/([a-z0-9.+-]+)$/.exec(base)?.[1].replace(/[^a-z0-9]/g, "") || "bin");
}

/** A modal <dialog> (focus trapped, Esc closes) that asks before canceling. */
function confirmDialog() {
  const text = h("p");
  const yes = h("button.button.danger#confirm-cancel", {type: "button", value: "yes"}, "Cancel the job");
  const no = h("button.button.quiet", {type: "button", value: "no", autofocus: true}, "Keep it");
  const el = h("dialog.confirm", {"aria-labelledby": "confirm-title"},
    h("h2#confirm-title", {}, "Cancel this job?"), text, h("div.actions", {}, no, yes));
  let resolve = null;
  const close = (answer) => {
    el.close();
    resolve?.(answer);
    resolve = null;
  };
  yes.addEventListener("click", () => close(true));
  no.addEventListener("click", () => close(false));
  el.addEventListener("cancel", () => close(false));
  return {
    el,
    ask(job) {
      setText(text, job.state === "running"
        ? `Job ${shortId(job.id)} is rendering (${Math.floor(job.progress * 100)} %). Its worker stops within a second and the work done is lost.`
        : `Job ${shortId(job.id)} is #${job.position} in line. It is removed from the queue and will not run.`);
      el.showModal();
      return new Promise((r) => {
        resolve = r;
      });
    },
  };
}
