import { test } from "node:test";
import assert from "node:assert/strict";
import { createLogger, formatLogLine } from "./logger.ts";

const at = new Date("2026-01-02T12:00:01.234Z");

test("formats time, ordered metadata, level and message on one line", () => {
  const line = formatLogLine(at, "info", "Started", { user_id: "u", component: "http", pid: 7 });
  assert.equal(line, "12:00:01.234 pid=7 component=http user_id=u [info] Started");
});

test("keeps an event on one line", () => {
  assert.equal(formatLogLine(at, "error", "a\nb", {}), "12:00:01.234 [error] a\\nb");
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
  assert.equal(lines[0], "12:00:01.234 component=pg origin=postgres_1 [debug] x");
});
