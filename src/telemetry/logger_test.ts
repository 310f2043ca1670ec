import { test } from "node:test";
import assert from "node:assert/strict";
import { createLogger, formatJsonLine, formatLogLine } from "./logger.ts";

const at = new Date("2026-01-02T12:00:01.234Z");

test("formats time, ordered metadata, level and message on one line", () => {
  const line = formatLogLine(at, "info", "Started", { user_id: "u", component: "http", pid: 7 });
  assert.equal(line, "2026-01-02 12:00:01.234 pid=7 component=http user_id=u [info] Started");
});

test("keeps an event on one line", () => {
  assert.equal(formatLogLine(at, "error", "a\nb", {}), "2026-01-02 12:00:01.234 [error] a\\nb");
});

test("drops messages below the configured level", () => {
  const lines: string[] = [];
  const logger = createLogger({ level: "warning", write: (l) => lines.push(l), now: () => at });
  logger.debug("d");
  logger.info("i");
  logger.notice("n");
  logger.warning("w");
  logger.error("e");
  assert.deepEqual(lines.map((l) => l.split(" ").at(-1)), ["w", "e"]);
  assert.equal(logger.enabled("info"), false);
  assert.equal(logger.enabled("error"), true);
});

test("child loggers add metadata", () => {
  const lines: string[] = [];
  const root = createLogger({ level: "debug", write: (l) => lines.push(l), now: () => at });
  root.child({ component: "pg" }).child({ origin: "postgres_1" }).debug("x");
  assert.equal(lines[0], "2026-01-02 12:00:01.234 component=pg origin=postgres_1 [debug] x");
});

test("LOG_FORMAT=json: one object a line with time, level, message and the fields", () => {
  const lines: string[] = [];
  const logger = createLogger({
    level: "info",
    format: "json",
    write: (l) => lines.push(l),
    now: () => at,
  });
  logger.child({ component: "http" }).info("Sent 200\nin 1ms", { status: 200 });
  assert.equal(lines.length, 1);
  assert.deepEqual(JSON.parse(lines[0]), {
    time: "2026-01-02T12:00:01.234Z",
    level: "info",
    message: "Sent 200\nin 1ms",
    component: "http",
    status: 200,
  });
});

test("metadata cannot overwrite the fixed JSON fields", () => {
  const line = formatJsonLine(at, "error", "m", { level: "info", time: "x", message: "y", a: 1 });
  assert.deepEqual(JSON.parse(line), {
    time: at.toISOString(),
    level: "error",
    message: "m",
    a: 1,
  });
});

test("errors go to stderr, everything else to stdout (the default writer)", () => {
  const out: string[] = [];
  const err: string[] = [];
  const saved = { log: console.log, error: console.error };
  console.log = (line: string) => out.push(line);
  console.error = (line: string) => err.push(line);
  try {
    const logger = createLogger({ level: "debug", now: () => at });
    logger.info("i");
    logger.warning("w");
    logger.error("e");
  } finally {
    console.log = saved.log;
    console.error = saved.error;
  }
  assert.deepEqual(out.map((l) => l.split(" ").at(-1)), ["i", "w"]);
  assert.deepEqual(err.map((l) => l.split(" ").at(-1)), ["e"]);
});
