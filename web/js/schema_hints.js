// Early hints for a job kind's input, from its input_schema (GET /api/v1/kinds),
// while the text is typed. Only the common draft 7 keywords are looked at; the
// responder's check (every violation at its pointer, 422) is the one that
// counts, so a schema this does not understand simply gives no hint.

import {pointerTokens} from "./json_pointer.js";

const MAX_HINTS = 20;

function typeOf(value) {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (typeof value === "number") return Number.isInteger(value) ? "integer" : "number";
  return typeof value;  // "string" | "boolean" | "object"
}

function typeMatches(value, wanted) {
  const actual = typeOf(value);
  return actual === wanted || (wanted === "number" && actual === "integer");
}

function escapeToken(token) {
  return String(token).replaceAll("~", "~0").replaceAll("/", "~1");
}

/**
 * [{pointer, detail}] for the constraints of `schema` that `value` breaks, in
 * the responder's words where they are the same checks.
 */
export function schemaHints(value, schema) {
  const hints = [];
  const visit = (v, s, pointer) => {
    if (hints.length >= MAX_HINTS || !s || typeof s !== "object") return;
    if (s.type !== undefined) {
      const types = Array.isArray(s.type) ? s.type : [s.type];
      if (!types.some((t) => typeMatches(v, t))) {
        hints.push({pointer, detail: `must be ${types.join(" or ")}`});
        return;
      }
    }
    if (Array.isArray(s.enum) && !s.enum.some((e) => JSON.stringify(e) === JSON.stringify(v))) {
      hints.push({pointer, detail: `must be one of ${s.enum.map((e) => JSON.stringify(e)).join(", ")}`});
    }
    if (typeof v === "number") {
      if (typeof s.minimum === "number" && v < s.minimum) hints.push({pointer, detail: `must be >= ${s.minimum}`});
      if (typeof s.maximum === "number" && v > s.maximum) hints.push({pointer, detail: `must be <= ${s.maximum}`});
    }
    if (typeof v === "string") {
      const length = [...v].length;
      if (typeof s.minLength === "number" && length < s.minLength) {
        hints.push({pointer, detail: `must be at least ${s.minLength} characters`});
      }
      if (typeof s.maxLength === "number" && length > s.maxLength) {
        hints.push({pointer, detail: `must be at most ${s.maxLength} characters`});
      }
    }
    if (Array.isArray(v)) {
      if (typeof s.minItems === "number" && v.length < s.minItems) hints.push({pointer, detail: `must have at least ${s.minItems} items`});
      if (typeof s.maxItems === "number" && v.length > s.maxItems) hints.push({pointer, detail: `must have at most ${s.maxItems} items`});
      if (s.items && typeof s.items === "object" && !Array.isArray(s.items)) {
        v.forEach((item, i) => visit(item, s.items, `${pointer}/${i}`));
      }
    }
    if (typeOf(v) === "object") {
      const properties = s.properties && typeof s.properties === "object" ? s.properties : {};
      for (const key of Array.isArray(s.required) ? s.required : []) {
        if (!(key in v)) hints.push({pointer: `${pointer}/${escapeToken(key)}`, detail: "is required"});
      }
      for (const [key, item] of Object.entries(v)) {
        const at = `${pointer}/${escapeToken(key)}`;
        if (key in properties) {
          visit(item, properties[key], at);
        } else if (s.additionalProperties === false) {
          hints.push({pointer: at, detail: "unknown key (not allowed by the schema)"});
        } else if (s.additionalProperties && typeof s.additionalProperties === "object") {
          visit(item, s.additionalProperties, at);
        }
      }
    }
  };
  visit(value, schema, "");
  return hints.slice(0, MAX_HINTS);
}

/** An input that holds every property's default (what a kind's job gets when it is left out). */
export function defaultInput(schema) {
  const input = {};
  for (const [key, s] of Object.entries(schema?.properties || {})) {
    if (s && typeof s === "object" && "default" in s) input[key] = s.default;
    else if ((schema.required || []).includes(key)) input[key] = s?.type === "string" ? "" : null;
  }
  return input;
}

/** "/scene" as "scene" ("the input" for ""). */
export function pointerPath(pointer) {
  const tokens = pointerTokens(pointer);
  return tokens.length ? tokens.join(" › ") : "the input";
}
