/**
 * Read-path benchmark: Postgres → service → clients, at scale. Scenarios a–g and two
 * baselines (see docs/benchmarks.md, section "Sync", for what each measures and the targets):
 *
 *   deno run -A scripts/bench/sync.ts --runtime <bun|deno|binary> [--scenarios a,b,c,d,e,f,g]
 *        [--runs 3] [--rows 100000] [--clients 1000] [--small] [--write-doc]
 *
 * Postgres: a temporary cluster with fsync off (or BENCH_DATABASE_URL: a server on which this
 * may create and drop databases). The service runs as a child process and is only spoken to
 * over the wire (light raw clients from this process, the real client in Node), so the
 * benchmark does not depend on how the service is built inside. `--small` runs everything at
 * toy sizes in well under a minute (the test in tests/e2e/sync_bench_test.ts does that).
 *
 * Modules (scripts/bench/sync/): ws.ts + oplog_scan.ts + light_client.ts (raw client),
 * real_client.mjs + real_driver.ts (real client), baseline_pgoutput.ts, baseline_copy.ts,
 * writer.ts (writes and latency bookkeeping), env.ts (Postgres, service, /proc), context.ts,
 * scenarios/*.ts (one per scenario group), report.ts (tables and the doc section).
 * Prints the table of medians and a last line `sync-bench-result <json>`; exits 1 if any
 * scenario failed.
 *
 * Environment: BENCH_LOG_LEVEL (the service's LOG_LEVEL, default warning; its output is shown
 * when a table's migration never arrives), BENCH_SERVICE_OUTPUT=1 (print the restarted
 * service's output in scenario f), BENCH_RUNTIME_FLAGS (extra runtime flags, e.g. profiling).
 */
import { cpus } from "node:os";
import { type Ctx, type Figures, sizesFor } from "./sync/context.ts";
import { benchArgs } from "./args.ts";
import { startServer } from "./sync/env.ts";
import { printResult, runtimeVersions, versionOf, versionOfPostgres } from "./run_facts.ts";
import { BASELINES, DETAILS, FIGURES, renderTables, writeDoc } from "./sync/report.ts";
import { baselines } from "./sync/scenarios/baselines.ts";
import { scenarioC, scenarioD } from "./sync/scenarios/fanout.ts";
import { idleClients } from "./sync/scenarios/idle_clients.ts";
import { realClient } from "./sync/scenarios/real.ts";
import { scenarioF } from "./sync/scenarios/restart.ts";
import { singleRawClient } from "./sync/scenarios/single.ts";
import { scenarioE } from "./sync/scenarios/throughput.ts";
import { median } from "./sync/writer.ts";

const { argv, arg, flag, runner: RUNNER, small: SMALL, runtime: RUNTIME } = benchArgs();
const SCENARIOS = new Set(arg("scenarios", "a,b,c,d,e,f,g").split(",").map((s) => s.trim()));
const RUNS = Number(arg("runs", SMALL ? "1" : "3"));
const sizes = sizesFor({
  small: SMALL,
  rows: Number(arg("rows", "100000")),
  clients: Number(arg("clients", "1000")),
});
const started = Date.now();
const log = (line: string) =>
  process.stderr.write(`[sync ${((Date.now() - started) / 1000).toFixed(1)} s] ${line}\n`);

const any = (...ids: string[]) => ids.some((id) => SCENARIOS.has(id));
const plan: { name: string; run: (ctx: Ctx) => Promise<Figures> }[] = [
  { name: "baselines", run: baselines },
  ...(any("a", "b", "g") ? [{ name: "a/b raw, g", run: singleRawClient }] : []),
  ...(any("a", "b") ? [{ name: "a/b real", run: realClient }] : []),
  ...(any("c") ? [{ name: "c", run: scenarioC }] : []),
  ...(any("d") ? [{ name: "d", run: scenarioD }] : []),
  ...(any("e") ? [{ name: "e", run: scenarioE }] : []),
  ...(any("f") ? [{ name: "f", run: scenarioF }] : []),
  ...(any("g") ? [{ name: "g idle clients", run: idleClients }] : []),
];

const server = await startServer();
const stopOnSignal = (signal: "SIGINT" | "SIGTERM") =>
  process.once(signal, () => {
    log(`${signal}: stopping Postgres`);
    server.stop().finally(() => process.exit(130));
  });
stopOnSignal("SIGINT");
stopOnSignal("SIGTERM");

const runs: Record<string, number>[] = [];
const notes: string[] = [];
const problems: string[] = [];
const failures: string[] = [];
let postgresVersion = "?";
try {
  postgresVersion = await versionOfPostgres(server.adminUrl);
  const ctx: Ctx = { server, runtime: RUNTIME, sizes, log };
  for (let run = 1; run <= RUNS; run++) {
    const values: Record<string, number> = {};
    for (const step of plan) {
      log(`run ${run}/${RUNS}: ${step.name}`);
      try {
        const result = await step.run(ctx);
        Object.assign(values, result.values);
        for (const note of result.notes) notes.push(`run ${run}: ${note}`);
        problems.push(...result.problems.map((p) => `run ${run}: ${p}`));
      } catch (error) {
        const message = (error as Error).stack ?? String(error);
        failures.push(`run ${run}, ${step.name}: ${message}`);
        log(`FAILED ${step.name}: ${message}`);
      }
    }
    if (values["e.client"] !== undefined && values["base.reader"] !== undefined) {
      values["e.ratio"] = values["e.client"] / values["base.reader"];
    }
    runs.push(values);
  }
} finally {
  await server.stop();
}

const ids = [
  ...FIGURES.map((f) => f.id),
  ...BASELINES.map((b) => b.id),
  ...DETAILS.map((d) => d.id),
];
const medians: Record<string, number> = {};
for (const id of ids) {
  const seen = runs.map((r) => r[id]).filter((v) => v !== undefined);
  if (seen.length > 0) medians[id] = median(seen);
}
const tables = renderTables(medians, sizes);
console.log(tables.join("\n"));
for (const note of notes) console.log(`- ${note}`);
for (const problem of problems.slice(0, 20)) console.log(`- PROBLEM ${problem}`);
for (const failure of failures) console.log(`- FAILED ${failure.split("\n")[0]}`);
printResult("sync-bench", {
  runtime: RUNTIME,
  runs: RUNS,
  small: SMALL,
  medians,
  failures: failures.length,
  problems: problems.length,
});

if (flag("write-doc")) {
  const cpu = cpus();
  writeDoc({
    runtime: RUNTIME,
    command: `${RUNNER} scripts/bench/sync.ts ${argv.join(" ")}`,
    runs: RUNS,
    meta: [
      `Date: ${new Date().toISOString().slice(0, 10)}; ${RUNS} run(s), medians.`,
      `Machine: ${cpu.length} cores (${
        cpu[0]?.model ?? "?"
      }), shared by the service, Postgres, the benchmark's clients and writer, and the real client.`,
      `Runtimes: ${runtimeVersions()}, Node ${
        versionOf("node", ["--version"])
      } (real client); service under ${RUNTIME}; ` +
      `benchmark and light clients under ${RUNNER.split(" ")[0]}.`,
      `Postgres: ${postgresVersion}, fsync off.`,
    ],
    tables,
    notes: [
      ...notes,
      ...problems.slice(0, 20).map((p) => `Protocol problem: ${p}`),
      ...failures.map((f) => `FAILED ${f.split("\n")[0]}`),
    ],
  });
}
process.exit(failures.length > 0 ? 1 : 0);
