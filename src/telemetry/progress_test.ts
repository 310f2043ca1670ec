import { test } from "node:test";
import assert from "node:assert/strict";
import { createLogger } from "./logger.ts";
import { Progress } from "./progress.ts";

function setup() {
  const lines: string[] = [];
  let now = 0;
  const logger = createLogger({ level: "info", write: (l) => lines.push(l) });
  const clock = { advance: (ms: number) => now += ms };
  const progress = new Progress(logger, "Initial sync of subscription s1", "rows", {
    now: () => now,
  });
  return { lines, clock, progress };
}

test("a quick job prints nothing", () => {
  const { lines, clock, progress } = setup();
  progress.add(1000);
  clock.advance(4_000);
  progress.add(1000);
  progress.done();
  assert.deepEqual(lines, []);
});

test("a long job prints at most one line per period, with count and rate, then a closing line", () => {
  const { lines, clock, progress } = setup();
  for (let i = 0; i < 12; i++) {
    clock.advance(1_000);
    progress.add(10_000);
  }
  progress.done();
  assert.equal(lines.length, 3);
  assert.match(lines[0], /Initial sync of subscription s1: 50000 rows so far \(10000 rows\/s\)\./);
  assert.match(lines[1], /100000 rows so far/);
  assert.match(lines[2], /done, 120000 rows in 12\.0 s \(10000 rows\/s\)\./);
});
