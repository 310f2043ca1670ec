/**
 * Permissions benchmark (issue 17): the read path with permissions on (100 users in 10
 * project scopes, each subscribed to all of a 100,000-row table the service narrows to their
 * project) against the same rows delivered without permissions (each user subscribing with a
 * where clause on their project). See docs/benchmarks.md, "Permissions (read path)".
 *
 *   deno run -A scripts/bench/permissions.ts --runtime <bun|deno|binary> [--runs 3]
 *        [--rows 100000] [--projects 10] [--users-per-project 10] [--rate 200] [--seconds 10]
 *        [--small] [--write-doc]
 *
 * Also runs under `bun scripts/bench/permissions.ts`. Postgres: a temporary cluster with fsync
 * off (or BENCH_DATABASE_URL), stopped at the end; the service a child process per variant,
 * spoken to only over the wire by light clients (scripts/bench/sync/). `--small` is a toy run
 * in well under a minute (tests/e2e/permissions_bench_test.ts). Modules:
 * scripts/bench/permissions/ setup.ts (tables, rule, probe), scoped_book.ts (who should get
 * what, latencies), variant.ts (one variant), report.ts (table, verdict, doc section).
 * Prints the table and a last line `permissions-bench-result <json>`; exits 1 if a run failed
 * (including a user receiving rows that are not exactly their project's).
 */
import { cpus, loadavg } from "node:os";
import { benchArgs } from "./args.ts";
import { startServer } from "./sync/env.ts";
import { printResult, runtimeVersions, versionOfPostgres } from "./run_facts.ts";
import { median } from "./sync/writer.ts";
import type { Layout } from "./permissions/setup.ts";
import { runVariant } from "./permissions/variant.ts";
import {
  FIGURES,
  renderTable,
  type Summary,
  verdict,
  writePermissionsDoc,
} from "./permissions/report.ts";

const { argv, arg, runner: RUNNER, small: SMALL, runtime: RUNTIME } = benchArgs();
const layout: Layout = {
  rows: Number(arg("rows", SMALL ? "4000" : "100000")),
  projects: Number(arg("projects", SMALL ? "4" : "10")),
  usersPerProject: Number(arg("users-per-project", SMALL ? "3" : "10")),
};
const RATE = Number(arg("rate", "200"));
const SECONDS = Number(arg("seconds", SMALL ? "1" : "10"));
const RUNS = Number(arg("runs", "1"));

const started = Date.now();
const loadAtStart = loadavg()[0];
const log = (line: string) =>
  process.stderr.write(`[permissions ${((Date.now() - started) / 1000).toFixed(1)} s] ${line}\n`);

// A reader that goes away early (`| head`) must not end the run before Postgres is stopped.
for (const stream of [process.stdout, process.stderr]) stream.on("error", () => {});
const server = await startServer();
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    log(`${signal}: stopping Postgres`);
    server.stop().finally(() => process.exit(130));
  });
}

const runs: { without: Record<string, number>; with: Record<string, number> }[] = [];
const failures: string[] = [];
let postgresVersion = "?";
try {
  postgresVersion = await versionOfPostgres(server.adminUrl);
  for (let run = 1; run <= RUNS; run++) {
    // Alternating order: whatever the first variant of a run pays (a cold cluster), both pay.
    const order = run % 2 === 1 ? [false, true] : [true, false];
    const result: { without: Record<string, number>; with: Record<string, number> } = {
      without: {},
      with: {},
    };
    for (const permissions of order) {
      const name = permissions ? "with" : "without";
      log(`run ${run}/${RUNS}: ${name} permissions`);
      try {
        const figures = await runVariant({
          server,
          runtime: RUNTIME,
          layout,
          permissions,
          rate: RATE,
          seconds: SECONDS,
          log: (line) => log(`run ${run}: ${line}`),
        });
        result[name] = figures.values;
      } catch (error) {
        const message = (error as Error).stack ?? String(error);
        failures.push(`run ${run}, ${name} permissions: ${message}`);
        log(`FAILED ${name} permissions: ${message}`);
      }
    }
    runs.push(result);
  }
} finally {
  await server.stop();
}

const summary: Summary = { without: {}, with: {}, ratio: {}, runRatios: {} };
for (const { id } of FIGURES) {
  for (const side of ["without", "with"] as const) {
    const seen = runs.map((r) => r[side][id]).filter((v) => v !== undefined);
    if (seen.length > 0) summary[side][id] = median(seen);
  }
  summary.ratio[id] = summary.with[id] / summary.without[id];
  summary.runRatios[id] = runs
    .filter((r) => r.with[id] !== undefined && r.without[id] !== undefined)
    .map((r) => r.with[id] / r.without[id]);
}
const { met, line } = verdict(summary);
console.log(renderTable(summary).join("\n"));
console.log(`\nAgainst the target: ${line}`);
for (const failure of failures) console.log(`- FAILED ${failure.split("\n")[0]}`);
printResult("permissions-bench", {
  runtime: RUNTIME,
  runs: RUNS,
  small: SMALL,
  layout,
  summary,
  met,
  failures: failures.length,
});

if (argv.includes("--write-doc") && failures.length === 0) {
  const cpu = cpus();
  writePermissionsDoc({
    command: `${RUNNER} scripts/bench/permissions.ts ${argv.join(" ")}`,
    layout,
    rate: RATE,
    seconds: SECONDS,
    runs: RUNS,
    meta: [
      `Date: ${new Date().toISOString().slice(0, 10)}; ${RUNS} run(s), medians.`,
      `Machine: ${cpu.length} cores (${
        cpu[0]?.model ?? "?"
      }), shared by the service, Postgres and the benchmark's clients and writer; load average ${
        loadAtStart.toFixed(1)
      } at the start, ${loadavg()[0].toFixed(1)} at the end (other work on the machine included).`,
      `Runtimes: service under ${RUNTIME} (${runtimeVersions()}); benchmark under ${
        RUNNER.split(" ")[0]
      }.`,
      `Postgres: ${postgresVersion}, fsync off.`,
    ],
    summary,
  });
}
process.exit(failures.length > 0 ? 1 : 0);
