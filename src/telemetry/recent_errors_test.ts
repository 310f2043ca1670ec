import { test } from "node:test";
import assert from "node:assert/strict";
import { createLogger } from "./logger.ts";
import { RecentErrors, recordErrors } from "./recent_errors.ts";

test("the ring keeps the newest entries, newest first", () => {
  let t = 0;
  const errors = new RecentErrors({ capacity: 3, now: () => new Date(t++ * 1000) });
  assert.deepEqual(errors.list(), []);
  for (const message of ["a", "b", "c", "d"]) errors.add("error", message, "x");
  assert.deepEqual(errors.list().map((e) => e.message), ["d", "c", "b"]);
  assert.equal(errors.list()[0].time, "1970-01-01T00:00:03.000Z");
});

test("errors logged through the wrapper are kept with their component; lines still go out", () => {
  const lines: string[] = [];
  const errors = new RecentErrors();
  const logger = recordErrors(
    createLogger({ level: "info", write: (line) => lines.push(line) }),
    errors,
  );
  logger.info("fine");
  logger.warning("careful");
  logger.error("top level");
  const http = logger.child({ component: "http" });
  http.child({ client_id: "c1" }).error("Broken pipe");
  http.error("Overridden", { component: "satellite" });
  assert.equal(lines.length, 5);
  assert.match(lines[4], /component=satellite .*\[error\] Overridden$/);
  assert.deepEqual(errors.list().map((e) => [e.level, e.component, e.message]), [
    ["error", "satellite", "Overridden"],
    ["error", "http", "Broken pipe"],
    ["error", undefined, "top level"],
  ]);
  assert.equal(logger.enabled("debug"), false);
});

test("long messages are cut; nothing is kept when errors are not logged", () => {
  const errors = new RecentErrors();
  recordErrors(createLogger({ level: "error", write: () => {} }), errors).error("x".repeat(5000));
  assert.equal(errors.list()[0].message.length, 1001);
  const silent = new RecentErrors();
  recordErrors(createLogger({ level: "emergency", write: () => {} }), silent).error("hidden");
  assert.deepEqual(silent.list(), []);
});
