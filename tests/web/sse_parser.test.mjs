// The console's event-stream parser (web/js/sse_parser.js), fed the way a
// network delivers: whole frames, frames cut anywhere, several at once.
import assert from "node:assert/strict";
import {test} from "node:test";

import {SseParser} from "../../web/js/sse_parser.js";

function parse(pieces) {
  const events = [];
  const parser = new SseParser((e) => events.push(e));
  for (const piece of pieces) parser.push(piece);
  return events;
}

const STREAM = ": stream open\n\n" +
  'id: 7\nevent: state\ndata: {"id":"a","state":"queued"}\n\n' +
  ": keep-alive\n\n" +
  'id: 8\nevent: progress\ndata: {"id":"a","progress":0.5}\n\n';
const EXPECTED = [
  {id: "7", event: "state", data: '{"id":"a","state":"queued"}'},
  {id: "8", event: "progress", data: '{"id":"a","progress":0.5}'},
];

test("whole frames", () => {
  assert.deepEqual(parse([STREAM]), EXPECTED);
});

test("cut at every position", () => {
  for (let i = 0; i <= STREAM.length; i++) {
    assert.deepEqual(parse([STREAM.slice(0, i), STREAM.slice(i)]), EXPECTED, `cut at ${i}`);
  }
});

test("one character at a time", () => {
  assert.deepEqual(parse([...STREAM]), EXPECTED);
});

test("CRLF and CR line ends, several data lines, no space after the colon", () => {
  const events = parse(["id:1\r\nevent:state\r\ndata:{\r\ndata:}\r\n\r\n", "data: x\r\rdata: y\n\n"]);
  assert.deepEqual(events, [
    {id: "1", event: "state", data: "{\n}"},
    {id: null, event: "message", data: "x"},
    {id: null, event: "message", data: "y"},
  ]);
});

test("an event without data is not dispatched", () => {
  assert.deepEqual(parse(["event: state\n\n", ": only a comment\n\n"]), []);
});

test("a CRLF cut between its CR and its LF", () => {
  assert.deepEqual(parse(["id: 1\r", "\ndata: a\r", "\n", "data: b\r", "\n\r", "\n"]),
                   [{id: "1", event: "message", data: "a\nb"}]);
});
