// Building the page from values. Every text that came from the API, a scene or
// the user goes in through textContent or an attribute, never as markup: the
// site's CSP (Trusted Types) makes any HTML-string sink throw, so there is none.

/**
 * h("a.button", {href: "#/jobs", onclick}, "Jobs", child...) -> HTMLAnchorElement.
 * The tag may carry ".class" and "#id" parts. Attributes whose name starts with
 * "on" become listeners; `null`, `undefined` and `false` attributes are left out;
 * children are nodes or strings (strings become text nodes), nested arrays are
 * flattened, null and false children are skipped.
 */
export function h(tag, attrs = {}, ...children) {
  const [name, ...parts] = tag.split(/(?=[.#])/);
  const el = document.createElement(name || "div");
  for (const part of parts) {
    if (part.startsWith(".")) el.classList.add(part.slice(1));
    else el.id = part.slice(1);
  }
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") {
      el.addEventListener(key.slice(2), value);
    } else if (key === "class") {
      for (const c of String(value).split(/\s+/).filter(Boolean)) el.classList.add(c);
    } else if (key in el && typeof value !== "string") {
      el[key] = value;  // properties such as value, max, disabled
    } else {
      el.setAttribute(key, value === true ? "" : String(value));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replaces every child of `el` with `children`. */
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** Sets `el`'s text only when it changed (no needless layout, no lost selection). */
export function setText(el, text) {
  const value = String(text);
  if (el.textContent !== value) el.textContent = value;
}

/** A polite live region announces `message` to screen readers. */
export function announce(message) {
  const region = document.getElementById("announcer");
  if (region) setText(region, message);
}
