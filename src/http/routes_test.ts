import { test } from "node:test";
import assert from "node:assert/strict";
import { matchRoute, requestPath } from "./routes.ts";

test("routes match on path segments, ignoring empty ones", () => {
  assert.deepEqual(matchRoute("/api/status"), { route: "status", rest: [] });
  assert.deepEqual(matchRoute("/api/status/"), { route: "status", rest: [] });
  assert.deepEqual(matchRoute("//proxy"), { route: "proxy", rest: [] });
  assert.deepEqual(matchRoute("/ws/x"), { route: "ws", rest: ["x"] });
  assert.deepEqual(matchRoute("/api//migrations"), { route: "migrations", rest: [] });
  assert.deepEqual(matchRoute("/"), { route: "page", rest: [] });
  assert.deepEqual(matchRoute("//"), { route: "page", rest: [] });
  assert.equal(matchRoute("/api"), undefined);
  assert.equal(matchRoute("/wsx"), undefined);
});

test("the path of a request URL, also when its Host made it unparsable", () => {
  assert.equal(requestPath("http://127.0.0.1:3000/api/status?x=1"), "/api/status");
  assert.equal(requestPath("http://127.0.0.1:99999/api/status/"), "/api/status/");
  assert.equal(requestPath("http://a b/ws#f"), "/ws");
  assert.equal(requestPath("http://h//proxy"), "//proxy");
  assert.equal(requestPath("http://h/a/../ws"), "/ws");
  assert.equal(requestPath("http://h"), "/");
});
