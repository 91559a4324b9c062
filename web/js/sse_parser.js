// The event-stream format (WHATWG HTML, "Server-sent events"): lines of
// `field: value`, an event per blank line, comments starting with ":". Fed
// text in pieces of any size (a network read may split a line or a
// character's bytes; the caller decodes with a streaming TextDecoder).

/** Splits an event-stream text into events: {id, event, data}. */
export class SseParser {
  constructor(onEvent) {
    this.onEvent = onEvent;
    this.buffer = "";
    this.reset();
  }

  reset() {
    this.id = null;
    this.event = "";
    this.data = [];
  }

  push(text) {
    this.buffer += text;
    let end;
    while ((end = this.buffer.search(/\r\n|\r|\n/)) >= 0) {
      // A CR that ends the text so far may be the first half of a CRLF.
      if (this.buffer[end] === "\r" && end === this.buffer.length - 1) break;
      const line = this.buffer.slice(0, end);
      const newline = this.buffer.startsWith("\r\n", end) ? 2 : 1;
      this.buffer = this.buffer.slice(end + newline);
      this.line(line);
    }
  }

  line(line) {
    if (line === "") {
      if (this.data.length) this.onEvent({id: this.id, event: this.event || "message", data: this.data.join("\n")});
      this.reset();
      return;
    }
    if (line.startsWith(":")) return;  // a comment: keep-alive
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "data") this.data.push(value);
    else if (field === "event") this.event = value;
    else if (field === "id") this.id = value;
  }
}

