import assert from "node:assert/strict";
import { test } from "node:test";
import { HttpConnectionWatch } from "./http_watch.ts";

const DEADLINES = { headerTimeoutMs: 1000, idleTimeoutMs: 5000 };
const bytes = (text: string) => new TextEncoder().encode(text);

test("a request head must arrive whole in time, however it is dribbled", () => {
  const watch = new HttpConnectionWatch(DEADLINES, 0);
  for (let t = 100; t < 1000; t += 100) {
    watch.fromClient(bytes("X"), t);
    assert.equal(watch.check(t), "ok");
  }
  assert.equal(watch.check(1000), "header_timeout");
  // A silent connection is due its head from the start.
  assert.equal(new HttpConnectionWatch(DEADLINES, 0).check(1000), "header_timeout");
});

test("keep-alive: idle between bodiless requests, a fresh deadline for the next head", () => {
  const watch = new HttpConnectionWatch(DEADLINES, 0);
  watch.fromClient(bytes("GET /api/status HTTP/1.1\r\nhost: x\r\n\r\n"), 10);
  watch.fromServer(bytes("HTTP/1.1 200 OK\r\n\r\n"), 20);
  assert.equal(watch.check(4000), "ok"); // waiting for a next request is idle, not a late head
  watch.fromClient(bytes("GET / HTTP/1.1\r\n"), 4500);
  assert.equal(watch.check(5400), "ok");
  assert.equal(watch.check(5500), "header_timeout");
  const idle = new HttpConnectionWatch(DEADLINES, 0);
  idle.fromClient(bytes("GET / HTTP/1.1\r\n\r\n"), 10);
  assert.equal(idle.check(5010), "idle_timeout");
});

test("pipelined heads in one chunk and a head split across chunks are found", () => {
  const watch = new HttpConnectionWatch(DEADLINES, 0);
  watch.fromClient(bytes("GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r"), 10);
  assert.equal(watch.check(1010), "header_timeout"); // the second head is still open
  const split = new HttpConnectionWatch(DEADLINES, 0);
  split.fromClient(bytes("GET /a HTTP/1.1\r\nhost: x\r"), 10);
  split.fromClient(bytes("\n\r"), 20);
  split.fromClient(bytes("\n"), 30);
  assert.equal(split.check(1500), "ok");
});

test("an upgrade answered 101 is no longer watched; refused, it is an ordinary connection", () => {
  const head = "GET /ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n";
  const upgraded = new HttpConnectionWatch(DEADLINES, 0);
  assert.equal(upgraded.fromClient(bytes(head + "\x82"), 10), head.length); // frames begin
  assert.equal(upgraded.fromServer(bytes("HTTP/1.1 1"), 20), undefined);
  assert.equal(upgraded.upgrading, true);
  assert.equal(
    upgraded.fromServer(bytes("01 Switching Protocols\r\nupgrade: websocket\r"), 30),
    undefined,
  );
  assert.equal(upgraded.fromServer(bytes("\n\r\n\x82\x01x"), 40), 3); // frames begin
  assert.equal(upgraded.upgraded, true);
  assert.equal(upgraded.check(60_000), "ok");
  const refused = new HttpConnectionWatch(DEADLINES, 0);
  refused.fromClient(bytes(head), 10);
  refused.fromServer(bytes("HTTP/1.1 400 Bad Request\r\n\r\n"), 20);
  assert.equal(refused.upgraded, false);
  assert.equal(refused.upgrading, false);
  assert.equal(refused.check(5020), "idle_timeout");
});

test("after a request with a body only the idle deadline applies", () => {
  const watch = new HttpConnectionWatch(DEADLINES, 0);
  watch.fromClient(bytes("POST / HTTP/1.1\r\ncontent-length: 5000\r\n\r\n"), 10);
  watch.fromClient(bytes("x"), 3000);
  assert.equal(watch.check(4000), "ok");
  assert.equal(watch.check(8000), "idle_timeout");
});
