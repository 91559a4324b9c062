// Where an RFC 6901 JSON pointer points in a JSON text, so that a 422's findings
// can be shown next to the field they name. A small scanner over the text as the
// user typed it (JSON.parse forgets positions).

/** "/objects/0/radius" -> ["objects", "0", "radius"] (with ~1 and ~0 undone). */
export function pointerTokens(pointer) {
  if (pointer === "") return [];
  return pointer.slice(1).split("/").map((t) => t.replace(/~1/g, "/").replace(/~0/g, "~"));
}

export function pointerOf(tokens) {
  return tokens.map((t) => "/" + String(t).replace(/~/g, "~0").replace(/\//g, "~1")).join("");
}

/**
 * Map from pointer to {start, end, keyStart} offsets of every value in `text`
 * (keyStart: where its member name begins, for object members). Returns null
 * for text that is not JSON. Stops recording past `limit` values, so a 3 MiB
 * mesh costs a bounded amount of memory.
 */
export function locateValues(text, limit = 200000) {
  const spots = new Map();
  let i = 0;
  const ws = () => {
    while (i < text.length && " \t\r\n".includes(text[i])) i++;
  };
  const fail = () => {
    throw new SyntaxError("not JSON");
  };
  const string = () => {
    if (text[i] !== '"') fail();
    const start = i++;
    while (i < text.length && text[i] !== '"') i += text[i] === "\\" ? 2 : 1;
    if (i >= text.length) fail();
    i++;
    return JSON.parse(text.slice(start, i));
  };
  const value = (tokens, keyStart) => {
    ws();
    const start = i;
    const c = text[i];
    if (c === "{") {
      i++;
      ws();
      if (text[i] === "}") i++;
      else {
        for (;;) {
          ws();
          const memberStart = i;
          const key = string();
          ws();
          if (text[i++] !== ":") fail();
          value([...tokens, key], memberStart);
          ws();
          if (text[i] === ",") { i++; continue; }
          if (text[i] === "}") { i++; break; }
          fail();
        }
      }
    } else if (c === "[") {
      i++;
      ws();
      if (text[i] === "]") i++;
      else {
        for (let n = 0; ; n++) {
          value([...tokens, String(n)], null);
          ws();
          if (text[i] === ",") { i++; continue; }
          if (text[i] === "]") { i++; break; }
          fail();
        }
      }
    } else if (c === '"') {
      string();
    } else {
      const m = /^-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|^true|^false|^null/.exec(text.slice(i, i + 64));
      if (!m) fail();
      i += m[0].length;
    }
    if (spots.size < limit) spots.set(pointerOf(tokens), {start, end: i, keyStart});
  };
  try {
    value([], null);
    ws();
    if (i !== text.length) fail();
  } catch {
    return null;
  }
  return spots;
}

/**
 * The spot a finding belongs to: its own pointer's value, or, for a member that
 * is missing (a required key), the nearest enclosing value that exists.
 * Returns {pointer, spot, exact} or null when not even the root is known.
 */
export function spotFor(spots, pointer) {
  let tokens = pointerTokens(pointer);
  for (;;) {
    const p = pointerOf(tokens);
    const spot = spots.get(p);
    if (spot) return {pointer: p, spot, exact: p === pointer};
    if (tokens.length === 0) return null;
    tokens = tokens.slice(0, -1);
  }
}

/** 1-based line and column of an offset. */
export function lineColumn(text, offset) {
  let line = 1;
  let last = -1;
  for (let k = text.indexOf("\n"); k !== -1 && k < offset; k = text.indexOf("\n", k + 1)) {
    line++;
    last = k;
  }
  return {line, column: offset - last};
}
