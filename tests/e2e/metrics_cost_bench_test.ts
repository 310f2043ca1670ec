/**
 * The metrics-cost benchmark (scripts/bench/metrics_cost.ts) runs at `--small` sizes (temp
 * Postgres, service under Bun, both arms of scenario a/b, d and the client-writes run) and
 * reports every figure for both arms; the on arm was really scraped and sent StatsD, and the
 * off arm's /metrics was off (the script fails otherwise).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { FIGURES } from "../../scripts/bench/metrics_cost/report.ts";
import { assertFigures, runSmallBench } from "../helpers/bench_run.ts";
import { ONCE_UNDER_DENO } from "../helpers/wait.ts";

test("the metrics-cost benchmark runs at --small sizes and reports both arms", {
  skip: ONCE_UNDER_DENO,
  timeout: 90_000,
}, async () => {
  const { stdout, result } = await runSmallBench<{
    failures: number;
    summary: Record<"off" | "on", Record<string, unknown>>;
    scrapes: number;
    datagrams: number;
  }>("scripts/bench/metrics_cost.ts", { marker: "metrics-cost-result" });
  assert.equal(result.failures, 0);
  for (const arm of ["off", "on"] as const) assertFigures(result.summary[arm], FIGURES, `${arm}: `);
  assert.ok(result.scrapes > 0, "the on arm was never scraped");
  assert.ok(result.datagrams > 0, "the on arm sent no StatsD datagram");
  assert.match(stdout, /^Verdict: \*\*/m);
});
