/**
 * The metrics-cost benchmark (scripts/bench/metrics_cost.ts) runs at `--small` sizes (temp
 * Postgres, service under Bun, both arms of scenario a/b, d and the client-writes run) and
 * reports every figure for both arms; the on arm was really scraped and sent StatsD, and the
 * off arm's /metrics was off (the script fails otherwise).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { FIGURES } from "../../scripts/bench/metrics_cost/report.ts";
import { ONCE_UNDER_DENO } from "../helpers/wait.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

test("the metrics-cost benchmark runs at --small sizes and reports both arms", {
  skip: ONCE_UNDER_DENO,
  timeout: 90_000,
}, async () => {
  const deno = join(ROOT, "node_modules", ".bin", "deno");
  const child = spawn(
    deno,
    ["run", "-A", "scripts/bench/metrics_cost.ts", "--small", "--runtime", "bun"],
    { cwd: ROOT, env: { ...process.env, NO_COLOR: "1" }, stdio: ["ignore", "pipe", "pipe"] },
  );
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (chunk) => stdout += String(chunk));
  child.stderr!.on("data", (chunk) => stderr += String(chunk));
  const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
  assert.equal(code, 0, `exit ${code}\n${stdout}\n${stderr.slice(-4000)}`);
  const line = stdout.split("\n").find((l) => l.startsWith("metrics-cost-result "));
  assert.ok(line, stdout);
  const result = JSON.parse(line.slice("metrics-cost-result ".length));
  assert.equal(result.failures, 0);
  for (const { id } of FIGURES) {
    for (const arm of ["off", "on"]) {
      const value = result.summary[arm][id];
      assert.ok(
        typeof value === "number" || value === "Infinity",
        `${arm}: figure ${id} missing: ${JSON.stringify(result.summary[arm])}`,
      );
    }
  }
  assert.ok(result.scrapes > 0, "the on arm was never scraped");
  assert.ok(result.datagrams > 0, "the on arm sent no StatsD datagram");
  assert.match(stdout, /^Verdict: \*\*/m);
});
