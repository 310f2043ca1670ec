/**
 * Metrics-cost benchmark (issue 13, point 4): the read-path and write-path benchmarks with
 * the metrics and the status page off (`ELECTRIC_METRICS=false`) and on (the defaults, StatsD
 * to a local UDP socket, /metrics and the status JSON scraped once a second). See
 * docs/benchmarks.md, "Metrics and status page cost".
 *
 *   deno run -A scripts/bench/metrics_cost.ts --runtime <bun|deno|binary> [--runs 3]
 *        [--rows 100000] [--clients 1000] [--writers 100] [--rate 1000] [--seconds 5]
 *        [--quiet 0.25] [--benches a/b,d,writes] [--scrape yes|no] [--small] [--write-doc]
 *
 * Each round runs, for each benchmark, both arms back to back, the order alternating between
 * rounds: sync scenario a/b (scripts/bench/sync/scenarios/single.ts) and d (fanout.ts) on a
 * fresh database of one temporary cluster (fsync off, or BENCH_DATABASE_URL), and one
 * client-writes run (scripts/bench/client_writes/run.ts: `--writers` clients in a closed loop,
 * plain Postgres beside it, then `--rate` txn/s) on a cluster of its own, as those harnesses
 * do. The machine is shared: before each arm it waits for a quiet machine (metrics_cost/
 * quiet.ts; `--quiet 1` never waits), and a first a/b run warms caches up uncounted. The arms
 * are service extras (metrics_cost/operator.ts); figures, verdict and the doc
 * section are in metrics_cost/report.ts. `--small` is a toy run (tests/e2e/
 * metrics_cost_bench_test.ts). Prints the table and a last line `metrics-cost-result <json>`;
 * exits 1 if a run failed or the on arm's scrapes did not all answer 200.
 */
import { cpus, loadavg } from "node:os";
import { type Ctx, type Figures, sizesFor } from "./sync/context.ts";
import { benchArgs } from "./args.ts";
import { startServer } from "./sync/env.ts";
import { printResult, runtimeVersions, versionOfPostgres } from "./run_facts.ts";
import { scenarioD } from "./sync/scenarios/fanout.ts";
import { singleRawClient } from "./sync/scenarios/single.ts";
import { median } from "./sync/writer.ts";
import { clientWritesRun } from "./client_writes/run.ts";
import { metricsExtras, newProbe, type Probe, StatsdSink } from "./metrics_cost/operator.ts";
import { waitForQuiet } from "./metrics_cost/quiet.ts";
import {
  FIGURES,
  type Labels,
  LOST,
  renderTable,
  type Summary,
  verdict,
  writeMetricsCostDoc,
} from "./metrics_cost/report.ts";

const { argv, arg, runner: RUNNER, small: SMALL, runtime: RUNTIME } = benchArgs();
const RUNS = Number(arg("runs", SMALL ? "1" : "3"));
const sizes = sizesFor({
  small: SMALL,
  rows: Number(arg("rows", "100000")),
  clients: Number(arg("clients", "1000")),
});
const WRITERS = Number(arg("writers", SMALL ? "5" : "100"));
const RATE = Number(arg("rate", SMALL ? "100" : "1000"));
const SECONDS = Number(arg("seconds", SMALL ? "1" : "5"));
/** Before each arm, wait (up to 5 min) until the machine is at most this busy; 1: never wait. */
const QUIET = Number(arg("quiet", SMALL ? "1" : "0.25"));
/** `--scrape no`: the on arm without the scraper and StatsD (to tell their cost apart). */
const SCRAPE = arg("scrape", "yes") !== "no";
const ONLY = new Set(arg("benches", "a/b,d,writes").split(","));
const labels: Labels = {
  rows: sizes.rows,
  clients: sizes.clients,
  fanRate: sizes.fanRate,
  writers: WRITERS,
  rate: RATE,
};

const started = Date.now();
const loadAtStart = loadavg();
const log = (line: string) =>
  process.stderr.write(`[metrics-cost ${((Date.now() - started) / 1000).toFixed(1)} s] ${line}\n`);

type Arm = "off" | "on";
type Bench = {
  name: string;
  run: (ctx: Ctx, round: number) => Promise<Record<string, number>>;
  cpuId: string;
};

const fromScenario =
  (scenario: (ctx: Ctx) => Promise<Figures>, ids: string[]) =>
  async (ctx: Ctx): Promise<Record<string, number>> => {
    const figures = await scenario(ctx);
    if (figures.problems.length > 0) {
      throw new Error(`protocol problems: ${figures.problems.slice(0, 3).join("; ")}`);
    }
    // Memory figures come in bytes; the table shows MB.
    const mb = (id: string) => id.endsWith("rss") || id === "g.synced";
    return Object.fromEntries(
      ids.map((id) => [id, mb(id) ? figures.values[id] / 2 ** 20 : figures.values[id]]),
    );
  };

const BENCHES: Bench[] = [
  {
    name: "a/b",
    cpuId: "ab.cpu_s",
    run: fromScenario(singleRawClient, [
      "a.raw",
      "b.raw.p50",
      "b.raw.p99",
      "b.raw.lost",
      "g.synced",
    ]),
  },
  {
    name: "d",
    cpuId: "d.cpu_s",
    run: fromScenario(scenarioD, [
      "d.sync_s",
      "d.p50",
      "d.p99",
      "d.lost",
      "d.cpu_service",
      "d.rss",
    ]),
  },
  {
    name: "writes",
    cpuId: "w.cpu_s",
    async run(ctx, round) {
      const figures = await clientWritesRun(round, {
        runtime: RUNTIME,
        mode: "direct_writes",
        clients: [WRITERS],
        seconds: SECONDS,
        rate: RATE,
        log: ctx.log,
        extras: ctx.extras,
      });
      const closed = figures.closed[WRITERS];
      const cpu = figures.serviceCpu;
      return {
        "w.cpu_ms_per_txn": cpu[WRITERS].seconds * 1000 / cpu[WRITERS].transactions,
        "w.rate.cpu": cpu.rate.seconds / cpu.rate.wallSeconds * 100,
        "w.tps": closed.service.transactionsPerSecond,
        "w.p50": closed.service.p50,
        "w.p99": closed.service.p99,
        "w.plain": closed.plain.transactionsPerSecond,
        "w.rate.p50": figures.rate.p50,
        "w.rate.p99": figures.rate.p99,
        "w.rate.lost": figures.rate.lost,
      };
    },
  },
];

// A reader that goes away early (`| head`) must not end the run before Postgres is stopped.
for (const stream of [process.stdout, process.stderr]) stream.on("error", () => {});
const server = await startServer();
const sink = await StatsdSink.open();
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    log(`${signal}: stopping Postgres`);
    sink.close();
    server.stop().finally(() => process.exit(130));
  });
}

const runs: Record<Arm, Record<string, number>>[] = [];
const gates: { busy: number; waitedMs: number }[] = [];
const probes: Record<Arm, Probe[]> = { off: [], on: [] };
const failures: string[] = [];
let postgresVersion = "?";
try {
  postgresVersion = await versionOfPostgres(server.adminUrl);
  if (!SMALL) {
    // A first service start and a first 100,000-row sync pay for cold caches; neither arm should.
    log("warm-up: a/b, metrics off (not counted)");
    await BENCHES[0].run({ server, runtime: RUNTIME, sizes, log }, 0);
  }
  for (let round = 1; round <= RUNS; round++) {
    // Alternating order: whatever the first arm of a pair pays (a cold cache), both pay.
    const order: Arm[] = round % 2 === 1 ? ["off", "on"] : ["on", "off"];
    const result: Record<Arm, Record<string, number>> = { off: {}, on: {} };
    for (const bench of BENCHES.filter((b) => ONLY.has(b.name))) {
      for (const arm of order) {
        if (QUIET < 1) {
          const gate = await waitForQuiet({ maxBusy: QUIET, windowMs: 3000, maxWaitMs: 300_000 });
          gates.push(gate);
          if (gate.waitedMs > 4000) {
            log(`waited ${(gate.waitedMs / 1000).toFixed(0)} s for a quiet machine`);
          }
        }
        log(`round ${round}/${RUNS}: ${bench.name}, metrics ${arm}`);
        const probe = newProbe();
        const ctx: Ctx = {
          server,
          runtime: RUNTIME,
          sizes,
          log: (line) => log(`round ${round}, ${arm}: ${line}`),
          extras: metricsExtras(arm === "on", sink, probe, SCRAPE),
        };
        try {
          Object.assign(result[arm], await bench.run(ctx, round));
          result[arm][bench.cpuId] = probe.cpuSeconds;
        } catch (error) {
          const message = (error as Error).stack ?? String(error);
          failures.push(`round ${round}, ${bench.name}, metrics ${arm}: ${message}`);
          log(`FAILED ${bench.name}, metrics ${arm}: ${message}`);
        }
        probes[arm].push(probe);
        for (const e of probe.errors.slice(0, 3)) {
          failures.push(`round ${round}, ${bench.name}, metrics ${arm}: ${e}`);
        }
      }
    }
    runs.push(result);
  }
} finally {
  sink.close();
  await server.stop();
}
const loadAtEnd = loadavg();

const summary: Summary = {
  off: {},
  on: {},
  ratio: {},
  runRatios: {},
  spread: { off: {}, on: {} },
};
for (const id of [...FIGURES.map((f) => f.id), ...LOST]) {
  for (const arm of ["off", "on"] as const) {
    const seen = runs.map((r) => r[arm][id]).filter((v) => v !== undefined);
    if (seen.length === 0) continue;
    const mid = median(seen);
    summary[arm][id] = mid;
    summary.spread[arm][id] = seen.length > 1 ? (Math.max(...seen) - Math.min(...seen)) / mid : NaN;
  }
  summary.ratio[id] = summary.on[id] / summary.off[id];
  summary.runRatios[id] = runs
    .filter((r) => r.on[id] !== undefined && r.off[id] !== undefined)
    .map((r) => r.on[id] / r.off[id]);
}
const sum = (arm: Arm, pick: (p: Probe) => number) =>
  probes[arm].reduce((total, p) => total + pick(p), 0);
const onScrapes = sum("on", (p) => p.scrapes);
const notes = [
  `Metrics on: ${onScrapes} scrapes (each \`/metrics\` and \`/api/status?format=json\`, ${
    Math.round(sum("on", (p) => p.scrapeBytes) / Math.max(1, onScrapes) / 1024)
  } KiB per scrape on average), ${sum("on", (p) => p.skipped)} skipped because the previous one ` +
  `had not answered, slowest ${
    Math.round(Math.max(0, ...probes.on.map((p) => p.slowestScrapeMs)))
  } ms; ${sum("on", (p) => p.datagrams)} StatsD datagrams received` +
  (sink.sample ? ` (e.g. \`${sink.sample}\`)` : "") + ".",
];
if (gates.length > 0) {
  const busiest = Math.max(...gates.map((g) => g.busy));
  const gaveUp = gates.filter((g) => g.busy > QUIET).length;
  notes.push(
    `Before each arm the benchmark waited until the machine was at most ${
      Math.round(QUIET * 100)
    }% busy over 3 s (its own processes idle): busiest window accepted ${
      Math.round(busiest * 100)
    }%, ${Math.round(gates.reduce((t, g) => t + g.waitedMs, 0) / 1000)} s waited in all` +
      (gaveUp > 0 ? `, ${gaveUp} arm(s) started after 5 min without a quiet window.` : "."),
  );
}
const { measurable, line } = verdict(summary);
const load = (l: number[]) => l.map((v) => v.toFixed(2)).join(", ");
console.log(renderTable(summary, labels).join("\n"));
console.log(`\nVerdict: ${line}`);
for (const note of notes) console.log(`- ${note}`);
console.log(
  `- Load average (1, 5, 15 min): ${load(loadAtStart)} at the start, ${
    load(loadAtEnd)
  } at the end.`,
);
for (const failure of failures) console.log(`- FAILED ${failure.split("\n")[0]}`);
printResult("metrics-cost", {
  runtime: RUNTIME,
  runs: RUNS,
  small: SMALL,
  summary,
  measurable,
  scrapes: onScrapes,
  datagrams: sum("on", (p) => p.datagrams),
  load: { start: loadAtStart, end: loadAtEnd },
  failures: failures.length,
});

if (argv.includes("--write-doc") && failures.length === 0) {
  const cpu = cpus();
  writeMetricsCostDoc({
    runtime: RUNTIME,
    command: `${RUNNER} scripts/bench/metrics_cost.ts ${argv.join(" ")}`,
    meta: [
      `Date: ${new Date().toISOString().slice(0, 10)}; ${RUNS} round(s), medians; ${
        ((Date.now() - started) / 60_000).toFixed(0)
      } min in all.`,
      `Machine: ${cpu.length} cores (\`nproc\`; ${
        cpu[0]?.model ?? "?"
      }), shared by the service, Postgres and the benchmark's clients, writer and scraper; load ` +
      `average (1, 5, 15 min) ${load(loadAtStart)} at the start, ${
        load(loadAtEnd)
      } at the end (other work on the machine included).`,
      `Runtimes: service under ${RUNTIME} (${runtimeVersions()}); benchmark under ${
        RUNNER.split(" ")[0]
      }.`,
      `Postgres: ${postgresVersion}, fsync off.`,
    ],
    summary,
    labels,
    notes,
  });
}
process.exit(failures.length > 0 ? 1 : 0);
