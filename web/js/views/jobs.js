// Own jobs, newest first: a state filter and the page's cursor kept in the URL
// (#/jobs?state=failed&cursor=...), so a view can be bookmarked and shared.
// The owner's event stream moves progress bars and refreshes the list when a
// job changes state; while it is live the list is polled only every 30 s.

import {api} from "../api.js";
import {etaText, progressBar, STATES, stateBadge} from "../components.js";
import {h, replace} from "../dom.js";
import {duration, shortId, sizeText, when} from "../format.js";
import {followOwnerEvents} from "../events.js";
import {Poller} from "../poller.js";

const PAGE_SIZE = 20;
const POLL_WITH_STREAM_MS = 30000;

export function mountJobs(main, {route, navigate}) {
  const state = STATES.includes(route.query.get("state")) ? route.query.get("state") : "";
  const cursor = route.query.get("cursor") || "";
  const pages = Number(route.query.get("page") || "1") || 1;  // for the "page N" label only
  const requested = Number(route.query.get("limit"));
  const limit = Number.isInteger(requested) && requested >= 1 && requested <= 100 ? requested : PAGE_SIZE;
  const keep = limit === PAGE_SIZE ? "" : String(limit);  // kept in every link of the page

  const filters = h("div.filters", {role: "group", "aria-label": "Filter by state"},
    ["", ...STATES].map((s) => h("a.chip", {
      href: `#/jobs${s ? `?state=${s}` : ""}`,
      "aria-current": s === state ? "true" : null,
    }, s || "all")));
  const body = h("div#jobs-list");
  const pager = h("nav.pager", {"aria-label": "Pages"});
  main.append(
    h("div.page-head", {}, h("h1", {}, state ? `Jobs: ${state}` : "Jobs"),
      h("a.button.primary", {href: "#/submit"}, "Submit a scene")),
    filters, h("section.panel", {}, body, pager));

  const resource = api.jobs({state, cursor, limit});
  const rows = new Map();

  function row(job) {
    const bar = job.state === "running" ? progressBar(`Progress of job ${shortId(job.id)}`) : null;
    const progressCell = h("td", {"data-label": "Progress"});
    const tr = h("tr", {},
      h("td", {"data-label": "Job"}, h("a", {href: `#/jobs/${job.id}`}, shortId(job.id))),
      h("td", {"data-label": "State"}, stateBadge(job.state)),
      progressCell,
      h("td", {"data-label": "Size"}, sizeText(job)),
      h("td", {"data-label": "Submitted"}, when(job.created_at)));
    if (bar) progressCell.append(bar.el);
    const detail = h("span.muted");
    progressCell.append(detail);
    return {
      tr, state: job.state, job,
      update(next) {
        this.job = next;
        bar?.update(next.progress);
        replace(detail, next.state === "succeeded" ? `rendered in ${duration(next.render_seconds)}`
          : next.state === "failed" ? (next.error?.code || "failed")
          : next.state === "canceled" ? "canceled"
          : etaText(next));
      },
    };
  }

  const poller = new Poller(async (signal) => {
    const {value, changed} = await resource.get(signal);
    if (!changed) return;
    if (value.jobs.length === 0) {
      rows.clear();
      replace(body, h("p.empty", {}, state ? `No ${state} jobs${cursor ? " on this page" : ""}.` : "No jobs yet. Submit a scene to start."));
    } else {
      const tbody = h("tbody");
      for (const job of value.jobs) {
        let r = rows.get(job.id);
        if (!r || r.state !== job.state) {
          r = row(job);
          rows.set(job.id, r);
        }
        r.update(job);
        tbody.append(r.tr);
      }
      const table = body.querySelector("table.jobs") || h("table.jobs", {},
        h("thead", {}, h("tr", {}, ["Job", "State", "Progress", "Size", "Submitted"].map((t) => h("th", {scope: "col"}, t)))));
      table.querySelector("tbody")?.remove();
      table.append(tbody);
      if (!body.contains(table)) replace(body, h("div.table-wrap", {}, table));
    }
    replace(pager,
      cursor ? h("a.button.quiet", {href: `#/jobs?${new URLSearchParams({...(state && {state}), ...(keep && {limit: keep})})}`}, "← Newest") : null,
      h("span.muted", {}, `Page ${pages}`),
      value.next_cursor
        ? h("a.button.quiet#older", {href: "#", onclick: (event) => {
            event.preventDefault();
            navigate("/jobs", {state, limit: keep, cursor: value.next_cursor, page: String(pages + 1)});
          }}, "Older →")
        : null);
  });
  poller.start();
  const stream = followOwnerEvents(poller, rows, POLL_WITH_STREAM_MS);
  return () => {
    stream.stop();
    poller.stop();
  };
}
