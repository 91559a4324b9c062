// Submit a job: a scene (an example, pasted JSON or a file) or the input of
// another job kind (GET /api/v1/kinds; the kind picker), checked against the
// kind's input_schema while it is typed for early hints. A 422 is shown finding
// by finding next to the line its JSON pointer names; 413, 429 and 503 are
// told in words, and the button waits out Retry-After.

import {api, ApiError} from "../api.js";
import {notice} from "../components.js";
import {h, replace, setText, announce} from "../dom.js";
import {EXAMPLES, exampleText} from "../examples.js";
import {bytes} from "../format.js";
import {lineColumn, locateValues, pointerTokens, spotFor} from "../json_pointer.js";
import {defaultInput, pointerPath, schemaHints} from "../schema_hints.js";

const MAX_BODY_BYTES = 4 * 1024 * 1024;
const CONTEXT_LINES = 2;
let draft = null;  // the editor's text survives a trip to another view (not a reload)
let draftKind = "scene";

/** A one-line summary of a scene, from the text as typed; null if it is not JSON. */
function summary(text) {
  let scene;
  try {
    scene = JSON.parse(text);
  } catch {
    return null;
  }
  if (!scene || typeof scene !== "object" || Array.isArray(scene)) return null;
  const materials = Array.isArray(scene.materials) ? scene.materials : [];
  const objects = Array.isArray(scene.objects) ? scene.objects : [];
  const names = materials.map((m) => (m && typeof m.name === "string" ? m.name : "?"));
  return {
    size: `${scene.width ?? "?"}×${scene.height ?? "?"} · ${scene.samples ?? "?"} samples`,
    counts: `${materials.length} material${materials.length === 1 ? "" : "s"}, ${objects.length} object${objects.length === 1 ? "" : "s"}`,
    names: names.slice(0, 12),
    more: Math.max(0, names.length - 12),
  };
}

/** "/objects/0/radius" as "objects › 0 › radius" ("the scene" for ""). */
function pointerWords(pointer) {
  const tokens = pointerTokens(pointer);
  return tokens.length ? tokens.join(" › ") : "the scene";
}

export function mountSubmit(main, {navigate}) {
  const kindPicker = h("select#kind", {"aria-describedby": "kind-help"},
    h("option", {value: "scene"}, "scene: the built-in path tracer"));
  const kindHelp = h("p#kind-help.hint", {}, "The built-in path tracer: SPEC's scene format.");
  const kinds = new Map();  // name -> the kind as GET /api/v1/kinds lists it
  let kind = "scene";
  const picker = h("select#example", {"aria-describedby": "example-help"},
    h("option", {value: ""}, "Choose an example…"),
    EXAMPLES.map((e) => h("option", {value: e.id}, e.title)));
  const file = h("input#scene-file", {type: "file", accept: "application/json,.json"});
  const exampleRow = h("div.form-row", {});
  const editorLabel = h("label", {for: "scene"}, "Scene (JSON)");
  const editor = h("textarea#scene", {
    spellcheck: "false", autocomplete: "off", rows: 18, wrap: "off",
    "aria-describedby": "scene-help scene-summary", placeholder: '{"width": 160, "height": 120, …}',
  });
  const sceneSummary = h("div#scene-summary.scene-summary", {"aria-live": "polite"});
  const result = h("div#submit-result", {});
  const button = h("button.button.primary#submit-button", {type: "submit"}, "Submit");
  let idempotencyKey = null;  // the same for retries of the same text
  let submittedText = null;
  let retryTimer = null;

  /** Hints from the kind's input_schema; the responder's 422 is the check that counts. */
  function refreshKindSummary(text) {
    let input;
    try {
      input = JSON.parse(text);
    } catch {
      replace(sceneSummary, h("span.muted", {}, "Not valid JSON yet; the server will say where."));
      return;
    }
    const hints = schemaHints(input, kinds.get(kind)?.input_schema);
    replace(sceneSummary, h("span", {}, bytes(new Blob([text]).size)), hints.length
      ? h("ul.schema-hints#schema-hints", {}, hints.map((hint) => h("li", {"data-pointer": hint.pointer},
        h("code.pointer", {}, hint.pointer || "/"), ` ${pointerPath(hint.pointer)}: ${hint.detail}`)))
      : h("span", {}, `Matches the ${kind} kind's input schema.`));
  }

  function refreshSummary() {
    const text = editor.value;
    if (!text.trim()) {
      replace(sceneSummary);
      return;
    }
    if (kind !== "scene") {
      refreshKindSummary(text);
      return;
    }
    const s = summary(text);
    replace(sceneSummary, s
      ? [h("span", {}, s.size), h("span", {}, s.counts), h("span", {}, bytes(new Blob([text]).size)),
         s.names.length ? h("span.names", {}, "Materials: ", s.names.map((n) => h("code", {}, n)),
                             s.more ? ` and ${s.more} more` : "") : null]
      : h("span.muted", {}, "Not valid JSON yet; the server will say where."));
  }

  function setText_(text) {
    editor.value = text;
    draft = text;
    replace(result);
    refreshSummary();
  }

  /** Switches the form to `name`; a kind's input starts from its schema's defaults. */
  function chooseKind(name, {keepText = false} = {}) {
    const chosen = kinds.get(name);
    kind = chosen ? name : "scene";
    draftKind = kind;
    kindPicker.value = kind;
    exampleRow.hidden = kind !== "scene";
    setText(editorLabel, kind === "scene" ? "Scene (JSON)" : `Input of ${kind} (JSON)`);
    setText(kindHelp, chosen?.description || "The built-in path tracer: SPEC's scene format.");
    editor.placeholder = kind === "scene" ? '{"width": 160, "height": 120, …}' : "{…}";
    if (!keepText) {
      picker.value = "";
      setText_(kind === "scene" ? "" : JSON.stringify(defaultInput(chosen.input_schema), null, 2));
    } else {
      refreshSummary();
    }
  }

  kindPicker.addEventListener("change", () => chooseKind(kindPicker.value));
  api.kinds().get().then(({value}) => {
    for (const k of value.kinds || []) {
      kinds.set(k.name, k);
      if (k.name === "scene") continue;
      const estimate = k.estimated_seconds ? ` (about ${Math.round(k.estimated_seconds)} s a job)` : "";
      kindPicker.append(h("option", {value: k.name}, `${k.name}${estimate}`));
    }
    if (draft && draftKind !== "scene" && kinds.has(draftKind)) chooseKind(draftKind, {keepText: true});
  }).catch((e) => {
    if (!(e instanceof ApiError)) throw e;
    kindHelp.append(" (The other kinds could not be listed: ", e.message, ".)");
  });

  picker.addEventListener("change", async () => {
    const example = EXAMPLES.find((e) => e.id === picker.value);
    if (!example) return;
    try {
      setText_(await exampleText(example));
      announce(`Loaded ${example.title}`);
    } catch (e) {
      replace(result, notice("error", "The example could not be loaded.", e.message));
    }
  });
  file.addEventListener("change", async () => {
    const chosen = file.files?.[0];
    if (!chosen) return;
    if (chosen.size > MAX_BODY_BYTES) {
      replace(result, notice("error", "This file is too large.", `${chosen.name} is ${bytes(chosen.size)}; a scene may be at most 4 MiB.`));
      return;
    }
    setText_(await chosen.text());
    picker.value = "";
  });
  editor.addEventListener("input", () => {
    draft = editor.value;
    refreshSummary();
  });

  /** Selects the text at a finding's spot in the editor. */
  function jumpTo(start, end) {
    editor.focus();
    editor.setSelectionRange(start, end);
    const {line} = lineColumn(editor.value, start);
    const lineHeight = parseFloat(getComputedStyle(editor).lineHeight) || 18;
    editor.scrollTop = Math.max(0, (line - 4) * lineHeight);
  }

  /** Findings next to the lines of the text they point into, like a review. */
  function showFindings(problem, text) {
    const findings = problem.errors || [{pointer: problem.pointer ?? "", detail: problem.pointer !== undefined
      ? problem.detail.replace(`${problem.pointer}: `, "") : problem.detail}];
    const spots = locateValues(text);
    const lines = text.split("\n");
    const list = h("ol.findings#findings");
    for (const finding of findings) {
      const place = spots && spotFor(spots, finding.pointer);
      const item = h("li.finding", {"data-pointer": finding.pointer});
      const head = h("div.finding-head", {},
        h("code.pointer", {}, finding.pointer || "/"),
        h("span.finding-field", {}, pointerWords(finding.pointer)));
      item.append(head);
      if (place) {
        const offset = place.exact && place.spot.keyStart !== null ? place.spot.keyStart : place.spot.start;
        const {line} = lineColumn(text, offset);
        const from = Math.max(1, line - CONTEXT_LINES);
        const to = Math.min(lines.length, line + CONTEXT_LINES);
        const source = h("div.source", {role: "group", "aria-label": `Lines ${from} to ${to}`});
        for (let n = from; n <= to; n++) {
          const row = h(`div.source-line${n === line ? ".hit" : ""}`, {},
            h("span.lineno", {"aria-hidden": "true"}, String(n)),
            h("span.code", {}, lines[n - 1].length > 200 ? `${lines[n - 1].slice(0, 200)}…` : lines[n - 1]));
          source.append(row);
          if (n === line) {
            source.append(h("div.finding-detail", {role: "note"},
              place.exact ? "" : `${pointerTokens(finding.pointer).at(-1) ?? ""}: `, finding.detail));
          }
        }
        item.append(source, h("button.button.quiet.small", {type: "button",
          onclick: () => jumpTo(place.spot.keyStart ?? place.spot.start, place.spot.end)}, `Go to line ${line}`));
      } else {
        item.append(h("div.finding-detail", {role: "note"}, finding.detail));
      }
      list.append(item);
    }
    const count = findings.length;
    const what = kind === "scene" ? "scene" : "input";
    replace(result, notice("error", count === 1 ? `The ${what} has a problem.` : `The ${what} has ${count} problems.`,
      "Each is shown at the line it points to; nothing was stored."), list);
  }

  function waitOut(seconds, words) {
    clearInterval(retryTimer);
    const until = Date.now() + seconds * 1000;
    const tick = () => {
      const left = Math.ceil((until - Date.now()) / 1000);
      if (left <= 0) {
        clearInterval(retryTimer);
        button.disabled = false;
        setText(button, "Submit");
        return;
      }
      button.disabled = true;
      setText(button, `Retry in ${left} s`);
    };
    tick();
    retryTimer = setInterval(tick, 1000);
    announce(words);
  }

  function showError(e, text) {
    const retry = e.retryAfter ? Math.ceil(e.retryAfter) : null;
    const wait = retry ? ` The server asks to wait ${retry} s; the button is enabled again then.` : "";
    if (e.status === 422 && (e.kind === "invalid-scene" || e.kind === "invalid-input")) {
      return showFindings(e.problem, text);
    }
    if (e.status === 404 && kind !== "scene") {
      return replace(result, notice("error", `The service no longer has the ${kind} kind.`, e.message));
    }
    if (e.status === 422 && e.kind === "too-expensive") {
      return replace(result, notice("error", "This scene would take too long to render.", e.problem.detail,
        h("p.muted", {}, "Lower width, height, samples or max_depth and submit again.")));
    }
    if (e.status === 400 && e.kind === "malformed-json") {
      return replace(result, notice("error", "This is not valid JSON.", e.problem.detail));
    }
    if (e.status === 413) {
      return replace(result, notice("error", "The scene is too large.",
        "A scene may be at most 4 MiB. Use fewer triangles, or share vertices between them."));
    }
    if (e.status === 429) {
      if (retry) waitOut(retry, "Too many submits; waiting before the next try.");
      return replace(result, notice("warning", e.kind === "owner-queue-full"
        ? "You already have the most queued jobs a token may have (100)."
        : "Too many submits in a short time.",
        `Wait until some of your jobs have started, then submit again.${wait}`));
    }
    if (e.status === 503) {
      if (retry) waitOut(retry, "The service is busy; waiting before the next try.");
      return replace(result, notice("warning", e.kind === "queue-full"
        ? "The queue is full for now."
        : "The service cannot take jobs right now.",
        e.kind === "queue-full"
          ? `The queue holds as much work as it may (by count or by predicted time). Nothing was stored.${wait}`
          : `The job database is unavailable; nothing was stored.${wait}`));
    }
    if (e.status === 0) {
      return replace(result, notice("error", "The server cannot be reached.",
        "Nothing is known to be stored. Submitting again is safe: the same text is sent with the same Idempotency-Key."));
    }
    return replace(result, notice("error", e.problem?.title || `The server answered ${e.status}.`, e.message));
  }

  exampleRow.append(
    h("div.field", {}, h("label", {for: "example"}, "Example scene"), picker,
      h("p#example-help.hint", {}, "Loads into the editor; change anything before submitting.")),
    h("div.field", {}, h("label", {for: "scene-file"}, "Or upload a file"), file));
  const form = h("form.submit-form", {novalidate: true, "aria-labelledby": "submit-title"},
    h("div.field", {}, h("label", {for: "kind"}, "Kind of job"), kindPicker, kindHelp),
    exampleRow,
    h("div.field", {}, editorLabel, editor,
      h("p#scene-help.hint", {}, "The format is SPEC's scene format; the API reference is the ",
        h("a", {href: "/api/v1/openapi.json", target: "_blank", rel: "noopener"}, "OpenAPI document"), ".")),
    sceneSummary,
    h("div.actions", {}, button),
    result);

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = editor.value;
    if (!text.trim()) {
      replace(result, notice("error", "The editor is empty.", "Choose an example, paste a scene or upload a file."));
      editor.focus();
      return;
    }
    if (new Blob([text]).size > MAX_BODY_BYTES) {
      replace(result, notice("error", "The scene is too large.", "A scene may be at most 4 MiB."));
      return;
    }
    if (`${kind}\n${text}` !== submittedText) {
      submittedText = `${kind}\n${text}`;
      idempotencyKey = crypto.randomUUID();
    }
    button.disabled = true;
    replace(result, h("p.muted", {}, "Submitting…"));
    try {
      const {job} = await api.submit(text, idempotencyKey, kind);
      draft = null;
      announce("Submitted");
      navigate(`/jobs/${job.id}`);
    } catch (e) {
      button.disabled = false;
      if (!(e instanceof ApiError)) throw e;
      showError(e, text);
      result.querySelector("[role=alert], .notice")?.scrollIntoView({block: "nearest"});
    }
  });

  main.append(h("div.page-head", {}, h("h1#submit-title", {}, "Submit a job")), h("section.panel", {}, form));
  if (draft) setText_(draft);
  return () => clearInterval(retryTimer);
}
