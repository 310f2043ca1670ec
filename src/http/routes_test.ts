import { test } from "node:test";
import assert from "node:assert/strict";
import { matchRoute } from "./routes.ts";

test("routes match on path segments, ignoring empty ones", () => {
  assert.deepEqual(matchRoute("/api/status"), { route: "status", rest: [] });
  assert.deepEqual(matchRoute("/api/status/"), { route: "status", rest: [] });
  assert.deepEqual(matchRoute("//proxy"), { route: "proxy", rest: [] });
  assert.deepEqual(matchRoute("/ws/x"), { route: "ws", rest: ["x"] });
  assert.deepEqual(matchRoute("/api//migrations"), { route: "migrations", rest: [] });
  assert.equal(matchRoute("/"), undefined);
  assert.equal(matchRoute("/api"), undefined);
  assert.equal(matchRoute("/wsx"), undefined);
});
