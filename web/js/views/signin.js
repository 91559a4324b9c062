// Sign in with an API token. The token is checked against the API (GET
// /api/v1/queue) before it is kept, and kept in sessionStorage only.

import {ApiError, request, setToken} from "../api.js";
import {h, replace} from "../dom.js";
import {notice} from "../components.js";

export function mountSignIn(main, {reason, onSignedIn}) {
  const input = h("input#token", {
    type: "password", name: "token", autocomplete: "off", spellcheck: "false",
    required: true, placeholder: "rq_…", "aria-describedby": "token-help",
  });
  const message = h("div.form-message", {"aria-live": "polite"});
  const button = h("button.button.primary", {type: "submit"}, "Sign in");
  const form = h("form.card.signin", {novalidate: true, "aria-labelledby": "signin-title"},
    h("h1#signin-title", {}, "Sign in to renderq"),
    h("p.muted", {}, "Paste an API token. It stays in this tab only and is forgotten when the tab closes."),
    h("label", {for: "token"}, "API token"),
    input,
    h("p#token-help.hint", {}, "An operator creates one with ", h("code", {}, "renderqctl token create NAME"),
      "; ", h("code", {}, "scripts/run"), " prints one for the dev stack."),
    message,
    button);
  if (reason) replace(message, notice("info", reason));

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const value = input.value.trim();
    if (!value) {
      replace(message, notice("error", "Enter a token."));
      input.focus();
      return;
    }
    button.disabled = true;
    replace(message, h("p.muted", {}, "Checking the token…"));
    try {
      // Checked before it is kept: a refused token never becomes the tab's.
      await request("/api/v1/queue", {headers: {Authorization: `Bearer ${value}`}});
      setToken(value);
      input.value = "";
      onSignedIn();
    } catch (e) {
      button.disabled = false;
      if (e instanceof ApiError && e.status === 401) {
        replace(message, notice("error", "This token was refused.",
                                "It is unknown or has been revoked. Check for a typo, or ask for a new one."));
      } else if (e instanceof ApiError && e.status === 0) {
        replace(message, notice("error", "The server cannot be reached.", "Check the connection and try again."));
      } else {
        replace(message, notice("error", "The server could not check the token.", e.message));
      }
      input.select();
    }
  });
  main.append(h("section.signin-page", {}, form));
  input.focus();
  return () => {};
}
