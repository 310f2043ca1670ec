/**
 * Decoding-slot benchmark (issue 15, point 5): what one more instance costs Postgres. Every
 * instance streams its own logical slot, and Postgres runs one WAL sender per streamed slot
 * that reads and decodes all WAL; this measures that CPU on the read-path benchmark's write
 * workload with 0, 1, 2 and 3 slots streamed. See docs/benchmarks.md, "Decoding slots".
 *
 *   deno run -A scripts/bench/decoding_slot.ts --runtime <bun|deno|binary> [--runs 3]
 *        [--slots 0,1,2,3] [--consumer service|decoder] [--rate 100] [--seconds 30]
 *        [--bulk-rows 200000] [--per-tx 100] [--small] [--write-doc]
 *
 * Postgres: a temporary cluster of its own (fsync off, 32 slots and WAL senders; not
 * BENCH_DATABASE_URL: the CPU is read from /proc of the postmaster and its children). Per
 * configuration and run, a fresh database with the sync benchmark's `items` table (1,000 rows,
 * 100 of them `hot`), electrified by a first service instance. Consumers:
 *
 * - `service` (default): N real service instances (`direct_writes`, no clients) with
 *   distinct ELECTRIC_INSTANCE_IDs, each streaming its own live slot. With 0, the first
 *   instance is stopped after electrifying (its slots stay, inactive: an inactive slot costs
 *   no CPU).
 * - `decoder`: the first instance is stopped after electrifying, and N slots on
 *   `electric_publication` are streamed by this process and every message decoded with the
 *   service's own codec (src/pgwire), as the sync benchmark's bare reader does.
 *
 * Workload, as the sync benchmark writes (scripts/bench/sync/writer.ts): a paced phase of
 * single-row autocommit INSERTs and UPDATEs in turn at `--rate` per second for `--seconds`
 * (scenarios b–d), then a bulk phase of `--bulk-rows` rows in `--per-tx`-row transactions over
 * four connections (scenario e). A phase ends when every WAL sender has sent past a marker
 * committed after its last write. CPU (user + system, /proc/<pid>/stat) of the WAL senders, of
 * all Postgres (the postmaster, its live children and the ones it reaped) and of the service
 * instances, per 1,000 workload transactions and per MB of WAL written in the phase.
 * Prints the table and a last line `decoding-slot-result <json>`.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import postgres from "postgres";
import { startCluster } from "../../src/embedded/mod.ts";
import { waitFor } from "../../tests/helpers/wait.ts";
import { benchArgs } from "./args.ts";
import { currentSection, writeSection } from "./doc_section.ts";
import { runtimeVersions, versionOfPostgres } from "./run_facts.ts";
import { replicationConnection, streamPgoutput } from "./sync/baseline_pgoutput.ts";
import {
  type BenchService,
  connectSql,
  cpuSeconds,
  electrifyItems,
  fillItems,
  freshDatabase,
  type Server,
  startBenchService,
} from "./sync/env.ts";
import { insertInTransactions, LatencyBook, median, paceWrites, someIds } from "./sync/writer.ts";

const { argv, arg, flag, runner: RUNNER, small: SMALL, runtime: RUNTIME } = benchArgs();
const CONSUMER = arg("consumer", "service");
if (!["service", "decoder"].includes(CONSUMER)) {
  throw new Error(`--consumer must be service or decoder, not "${CONSUMER}"`);
}
const RUNS = Number(arg("runs", SMALL ? "1" : "3"));
const SLOTS = arg("slots", "0,1,2,3").split(",").map(Number);
const RATE = Number(arg("rate", "100"));
const SECONDS = Number(arg("seconds", SMALL ? "2" : "30"));
const BULK_ROWS = Number(arg("bulk-rows", SMALL ? "5000" : "200000"));
const PER_TX = Number(arg("per-tx", "100"));
const TABLE_ROWS = 1_000;
const HOT = 100;

const started = Date.now();
const loadAtStart = loadavg();
const log = (line: string) =>
  process.stderr.write(`[decoding-slot ${((Date.now() - started) / 1000).toFixed(1)} s] ${line}\n`);

// ---------------------------------------------------------------------------------------
// Postgres and its processes

interface Cluster extends Server {
  postmasterPid: number;
}

async function startOwnCluster(): Promise<Cluster> {
  const dir = mkdtempSync(join(tmpdir(), "electric-bench-slots-"));
  const result = await startCluster({
    dataDir: join(dir, "pgdata"),
    extraSettings: {
      fsync: "off",
      max_connections: "200",
      max_wal_size: "4GB",
      max_replication_slots: "32",
      max_wal_senders: "32",
    },
  });
  if (!result.ok) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(result.error.message);
  }
  const cluster = result.cluster;
  return {
    adminUrl: cluster.url,
    postmasterPid: cluster.pid,
    async stop() {
      await cluster.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** CPU seconds of `pid`'s own threads, and of its children it has waited for. */
function cpuWithReaped(pid: number): { own: number; reaped: number } {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ").map(Number);
    // utime, stime, cutime, cstime: fields 14–17 of the stat line (100 ticks/s).
    return { own: (fields[11] + fields[12]) / 100, reaped: (fields[13] + fields[14]) / 100 };
  } catch {
    return { own: 0, reaped: 0 };
  }
}

function childrenOf(parent: number): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid === parent) pids.push(Number(entry));
    } catch {
      // Gone meanwhile.
    }
  }
  return pids;
}

/** CPU of all Postgres: the postmaster, its children alive now and those it reaped. */
function postgresCpu(postmaster: number): number {
  const { own, reaped } = cpuWithReaped(postmaster);
  return own + reaped + childrenOf(postmaster).reduce((sum, pid) => sum + cpuSeconds(pid), 0);
}

interface Snapshot {
  postgres: number;
  walsenders: Map<number, number>;
  services: number[];
  lsn: string;
  at: number;
}

async function snapshot(
  sql: postgres.Sql,
  cluster: Cluster,
  services: BenchService[],
): Promise<Snapshot> {
  const senders = await sql<{ pid: number }[]>`
    SELECT active_pid AS pid FROM pg_replication_slots WHERE active AND NOT temporary`;
  const [{ lsn }] = await sql`SELECT pg_current_wal_lsn()::text AS lsn`;
  return {
    postgres: postgresCpu(cluster.postmasterPid),
    walsenders: new Map(senders.map(({ pid }) => [pid, cpuSeconds(pid)])),
    services: services.map((service) => cpuSeconds(service.pid)),
    lsn: String(lsn),
    at: performance.now(),
  };
}

/**
 * Commits a logical message and waits until `expected` WAL senders have sent past it: every
 * slot has read (and decoded) all WAL written before.
 */
async function waitCaughtUp(sql: postgres.Sql, expected: number): Promise<void> {
  const [{ lsn }] = await sql<{ lsn: string }[]>`
    SELECT pg_logical_emit_message(true, 'decoding_slot_bench', 'mark')::text AS lsn`;
  await waitFor(async () => {
    const rows = await sql<{ behind: boolean }[]>`
      SELECT r.sent_lsn IS NULL OR r.sent_lsn < ${lsn}::pg_lsn AS behind
        FROM pg_stat_replication r
        JOIN pg_replication_slots s ON s.active_pid = r.pid AND NOT s.temporary`;
    return rows.length >= expected && rows.every((row) => !row.behind);
  }, {
    timeoutMs: 600_000,
    intervalMs: 50,
    what: `${expected} WAL sender(s) to pass ${lsn}`,
  });
}

// ---------------------------------------------------------------------------------------
// Consumers

interface Decoder {
  messages: () => number;
  stop(): Promise<void>;
}

/** Streams a new slot on electric_publication, decoding every message (the bare reader). */
async function startDecoder(url: string, slot: string): Promise<Decoder> {
  const repl = replicationConnection(url);
  await repl.unsafe(`CREATE_REPLICATION_SLOT ${slot} LOGICAL pgoutput NOEXPORT_SNAPSHOT`);
  let messages = 0;
  let problem: string | undefined;
  const stream = await streamPgoutput(repl, {
    slot,
    publication: "electric_publication",
    ackAll: true,
    onMessage: () => messages++,
    onProblem: (text) => problem = text,
  });
  stream.on("error", (error: Error) => problem ??= error.message);
  return {
    messages: () => {
      if (problem) throw new Error(`Decoder ${slot}: ${problem}`);
      return messages;
    },
    async stop() {
      stream.end();
      await repl.end({ timeout: 1 }).catch(() => {});
    },
  };
}

// ---------------------------------------------------------------------------------------
// One configuration

interface PhaseFigures {
  transactions: number;
  walMb: number;
  seconds: number;
  /** CPU seconds. */
  walsenders: number;
  walsenderCount: number;
  postgres: number;
  services: number;
}

type Phase = "paced" | "bulk";
type RunFigures = Record<Phase, PhaseFigures>;

function phaseFigures(
  before: Snapshot,
  after: Snapshot,
  transactions: number,
  walBytes: number,
): PhaseFigures {
  let walsenders = 0;
  for (const [pid, cpu] of after.walsenders) walsenders += cpu - (before.walsenders.get(pid) ?? 0);
  const services = after.services.reduce((sum, cpu, i) => sum + cpu - before.services[i], 0);
  return {
    transactions,
    walMb: walBytes / 1e6,
    seconds: (after.at - before.at) / 1000,
    walsenders,
    walsenderCount: after.walsenders.size,
    postgres: after.postgres - before.postgres,
    services,
  };
}

async function runConfiguration(cluster: Cluster, slots: number, run: number): Promise<RunFigures> {
  const db = await freshDatabase(cluster, `slots${slots}`);
  const sql = connectSql(db.url, 4);
  const services: BenchService[] = [];
  const decoders: Decoder[] = [];
  try {
    await fillItems(sql, TABLE_ROWS, HOT);
    const first = await startBenchService(db.url, RUNTIME, undefined, {
      ELECTRIC_INSTANCE_ID: `bench_${run}_1`,
    });
    services.push(first);
    await electrifyItems(sql, first);
    if (CONSUMER === "service") {
      for (let i = 2; i <= slots; i++) {
        services.push(
          await startBenchService(db.url, RUNTIME, undefined, {
            ELECTRIC_INSTANCE_ID: `bench_${run}_${i}`,
          }),
        );
      }
    }
    if (CONSUMER === "decoder" || slots === 0) {
      await services.pop()!.stop();
      await waitFor(async () => {
        const rows = await sql`SELECT 1 FROM pg_replication_slots WHERE active`;
        return rows.length === 0;
      }, { timeoutMs: 20_000, what: "the first instance's WAL sender to end" });
    }
    if (CONSUMER === "decoder") {
      for (let i = 1; i <= slots; i++) decoders.push(await startDecoder(db.url, `bench_slot_${i}`));
    }
    const updateIds = await someIds(sql, HOT, "hot");
    // Every consumer has read what setting up wrote, and Postgres is idle again.
    await waitCaughtUp(sql, slots);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    await waitCaughtUp(sql, slots);

    const figures = {} as RunFigures;
    const samples = RATE * SECONDS;
    let before = await snapshot(sql, cluster, services);
    await paceWrites(sql, new LatencyBook(samples, 1, 0), {
      rate: RATE,
      insertValue: "hot",
      updateIds,
    });
    await waitCaughtUp(sql, slots);
    let after = await snapshot(sql, cluster, services);
    let [{ bytes }] = await sql`
      SELECT pg_wal_lsn_diff(${after.lsn}::pg_lsn, ${before.lsn}::pg_lsn)::float8 AS bytes`;
    figures.paced = phaseFigures(before, after, samples, Number(bytes));

    before = await snapshot(sql, cluster, services);
    await insertInTransactions(sql, BULK_ROWS, PER_TX);
    await waitCaughtUp(sql, slots);
    after = await snapshot(sql, cluster, services);
    [{ bytes }] = await sql`
      SELECT pg_wal_lsn_diff(${after.lsn}::pg_lsn, ${before.lsn}::pg_lsn)::float8 AS bytes`;
    figures.bulk = phaseFigures(before, after, Math.ceil(BULK_ROWS / PER_TX), Number(bytes));
    for (const decoder of decoders) decoder.messages(); // throws if one saw a bad message
    for (const phase of ["paced", "bulk"] as const) {
      if (figures[phase].walsenderCount !== slots) {
        throw new Error(
          `${phase}: ${figures[phase].walsenderCount} WAL senders at the end, ${slots} expected`,
        );
      }
    }
    return figures;
  } finally {
    for (const decoder of decoders) await decoder.stop();
    for (const service of services) await service.stop();
    await sql.end();
    await db.drop();
  }
}

// ---------------------------------------------------------------------------------------
// Figures

/** Least-squares slope of y over x. */
function slope(points: [number, number][]): number {
  const n = points.length;
  if (n < 2) return NaN;
  const mx = points.reduce((s, [x]) => s + x, 0) / n;
  const my = points.reduce((s, [, y]) => s + y, 0) / n;
  const sxy = points.reduce((s, [x, y]) => s + (x - mx) * (y - my), 0);
  const sxx = points.reduce((s, [x]) => s + (x - mx) ** 2, 0);
  return sxx === 0 ? NaN : sxy / sxx;
}

const fmt = (value: number, digits = 1) =>
  Number.isFinite(value)
    ? value.toLocaleString("en-US", {
      minimumFractionDigits: digits,
      maximumFractionDigits: digits,
    })
    : "–";

interface Row {
  phase: Phase;
  slots: number;
  transactions: number;
  walMb: number;
  seconds: number;
  /** ms of CPU per 1,000 workload transactions / per MB of WAL. */
  senderPerKtx: number;
  senderPerMb: number;
  postgresPerKtx: number;
  postgresPerMb: number;
  servicePerKtx: number;
  /** Per-run values of senderPerKtx. */
  senderRuns: number[];
}

function summarise(results: Map<number, RunFigures[]>): Row[] {
  const rows: Row[] = [];
  for (const phase of ["paced", "bulk"] as const) {
    for (const slots of SLOTS) {
      const runs = (results.get(slots) ?? []).map((r) => r[phase]);
      if (runs.length === 0) continue;
      const per = (f: (p: PhaseFigures) => number) => median(runs.map(f));
      const perSlot = (cpu: number) => slots === 0 ? NaN : cpu / slots;
      const instances = CONSUMER === "service" ? slots : 0;
      rows.push({
        phase,
        slots,
        transactions: per((p) => p.transactions),
        walMb: per((p) => p.walMb),
        seconds: per((p) => p.seconds),
        senderPerKtx: per((p) => perSlot(p.walsenders) * 1e6 / p.transactions),
        senderPerMb: per((p) => perSlot(p.walsenders) * 1e3 / p.walMb),
        postgresPerKtx: per((p) => p.postgres * 1e6 / p.transactions),
        postgresPerMb: per((p) => p.postgres * 1e3 / p.walMb),
        servicePerKtx: instances === 0
          ? NaN
          : per((p) => p.services / instances * 1e6 / p.transactions),
        senderRuns: runs.map((p) => perSlot(p.walsenders) * 1e6 / p.transactions),
      });
    }
  }
  return rows;
}

interface Marginal {
  phase: Phase;
  postgresPerKtx: number;
  postgresPerMb: number;
  senderPerKtx: number;
  senderPerMb: number;
  /** WAL sender CPU per slot at the phase's own pace, % of a core. */
  senderShare: number;
}

function marginals(rows: Row[], results: Map<number, RunFigures[]>): Marginal[] {
  return (["paced", "bulk"] as const).map((phase) => {
    const mine = rows.filter((r) => r.phase === phase);
    const streamed = mine.filter((r) => r.slots > 0);
    const all = [...results.entries()].flatMap(([slots, runs]) =>
      slots > 0 ? runs.map((r) => r[phase]) : []
    );
    return {
      phase,
      postgresPerKtx: slope(mine.map((r) => [r.slots, r.postgresPerKtx])),
      postgresPerMb: slope(mine.map((r) => [r.slots, r.postgresPerMb])),
      senderPerKtx: median(streamed.map((r) => r.senderPerKtx)),
      senderPerMb: median(streamed.map((r) => r.senderPerMb)),
      senderShare: median(
        all.map((p) => p.walsenders / p.walsenderCount / p.seconds * 100),
      ),
    };
  });
}

function renderTable(rows: Row[]): string[] {
  const consumer = CONSUMER === "service" ? "instances (slots streamed)" : "slots streamed";
  const lines = [
    `| phase | ${consumer} | transactions | WAL, MB | seconds | WAL sender CPU per slot, ms / 1,000 txn | … ms / MB of WAL | WAL sender per slot, all runs (ms / 1,000 txn) | all Postgres CPU, ms / 1,000 txn | … ms / MB of WAL |${
      CONSUMER === "service" ? " service CPU per instance, ms / 1,000 txn |" : ""
    }`,
    `| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: |${
      CONSUMER === "service" ? " ---: |" : ""
    }`,
  ];
  for (const r of rows) {
    const label = r.phase === "paced"
      ? `paced: ${RATE} single-row txn/s`
      : `bulk: ${PER_TX}-row txns, 4 connections`;
    lines.push(
      `| ${label} | ${r.slots} | ${fmt(r.transactions, 0)} | ${fmt(r.walMb)} | ${
        fmt(r.seconds)
      } | ${fmt(r.senderPerKtx)} | ${fmt(r.senderPerMb)} | ${
        r.slots === 0 ? "" : r.senderRuns.map((v) => fmt(v)).join(", ")
      } | ${fmt(r.postgresPerKtx)} | ${fmt(r.postgresPerMb)} |${
        CONSUMER === "service" ? ` ${fmt(r.servicePerKtx)} |` : ""
      }`,
    );
  }
  return lines;
}

function renderMarginals(list: Marginal[]): string[] {
  return list.map((m) =>
    `${
      m.phase === "paced" ? `Paced (${RATE} txn/s)` : `Bulk (${PER_TX}-row transactions)`
    }: one WAL sender costs ${fmt(m.senderPerKtx)} ms of CPU per 1,000 transactions, ` +
    `${fmt(m.senderPerMb)} ms per MB of WAL (${
      fmt(m.senderShare)
    } % of a core at this phase's pace); ` +
    `all Postgres CPU grows by ${fmt(m.postgresPerKtx)} ms per 1,000 transactions ` +
    `(${fmt(m.postgresPerMb)} ms per MB) for each slot streamed (least-squares slope over ${
      SLOTS.join(", ")
    } slots).`
  );
}

// ---------------------------------------------------------------------------------------
// Main

const cluster = await startOwnCluster();
process.once("SIGINT", () => cluster.stop().finally(() => process.exit(130)));
process.once("SIGTERM", () => cluster.stop().finally(() => process.exit(130)));
const results = new Map<number, RunFigures[]>();
const failures: string[] = [];
let postgresVersion = "?";
try {
  postgresVersion = await versionOfPostgres(cluster.adminUrl);
  for (let run = 1; run <= RUNS; run++) {
    // Alternate the order so drift of the machine does not fall on one end.
    const order = run % 2 === 1 ? SLOTS : SLOTS.toReversed();
    for (const slots of order) {
      log(`run ${run}/${RUNS}: ${slots} slot(s) streamed (${CONSUMER})`);
      try {
        const figures = await runConfiguration(cluster, slots, run);
        results.set(slots, [...(results.get(slots) ?? []), figures]);
        log(
          `  paced: WAL senders ${figures.paced.walsenders.toFixed(2)} s, Postgres ${
            figures.paced.postgres.toFixed(2)
          } s, ${figures.paced.walMb.toFixed(1)} MB; bulk: WAL senders ${
            figures.bulk.walsenders.toFixed(2)
          } s, Postgres ${figures.bulk.postgres.toFixed(2)} s, ${
            figures.bulk.walMb.toFixed(1)
          } MB in ${figures.bulk.seconds.toFixed(1)} s`,
        );
      } catch (error) {
        const message = (error as Error).stack ?? String(error);
        failures.push(`run ${run}, ${slots} slots: ${message}`);
        log(`FAILED: ${message}`);
      }
    }
  }
} finally {
  await cluster.stop();
}
const loadAtEnd = loadavg();

const rows = summarise(results);
const table = renderTable(rows);
const summary = renderMarginals(marginals(rows, results));
console.log(table.join("\n"));
for (const line of summary) console.log(`- ${line}`);
for (const failure of failures) console.log(`- FAILED ${failure.split("\n")[0]}`);
console.log(
  `decoding-slot-result ${
    JSON.stringify({ runtime: RUNTIME, consumer: CONSUMER, runs: RUNS, rows, failures })
  }`,
);

if (flag("write-doc") && !SMALL) {
  const BEGIN = "<!-- decoding-slot:begin -->";
  const END = "<!-- decoding-slot:end -->";
  const sub = `<!-- decoding-slot:${CONSUMER}:begin -->`;
  const subEnd = `<!-- decoding-slot:${CONSUMER}:end -->`;
  const load = (l: number[]) => l.map((v) => v.toFixed(2)).join(", ");
  const consumerText = CONSUMER === "service"
    ? `Consumers: service instances under ${RUNTIME} (\`direct_writes\`, no clients), each with ` +
      `its own ELECTRIC_INSTANCE_ID and so its own live slot and WAL sender; with 0 the instance ` +
      `that electrified the table was stopped (its slots stay, inactive).`
    : `Consumers: slots on \`electric_publication\` streamed by the benchmark process and ` +
      `decoded with \`src/pgwire\` (the instance that electrified the table was stopped).`;
  const section = [
    sub,
    "",
    `### ${CONSUMER === "service" ? "Real service instances" : "Bare pgoutput decoders"}`,
    "",
    "```sh",
    `${RUNNER} scripts/bench/decoding_slot.ts ${argv.join(" ")}`,
    "```",
    "",
    `- Date: ${new Date().toISOString().slice(0, 10)}; ${RUNS} run(s), medians; ${
      Math.round((Date.now() - started) / 60_000)
    } min in all.`,
    `- Machine: ${cpus().length} cores (${cpus()[0]?.model ?? "?"}), shared by Postgres, the ` +
    `consumers and the writer; load average (1, 5, 15 min) ${load(loadAtStart)} at the start, ` +
    `${load(loadAtEnd)} at the end (other work on the machine included).`,
    `- ${consumerText}`,
    `- Runtimes: ${runtimeVersions()}; benchmark under ${RUNNER.split(" ")[0]}.`,
    `- Postgres: ${postgresVersion}, fsync off.`,
    "",
    ...table,
    "",
    ...summary.map((line) => `- ${line}`),
    ...failures.map((f) => `- FAILED ${f.split("\n")[0]}`),
    "",
    subEnd,
  ].join("\n");
  const existing = currentSection(BEGIN, END);
  const intro = [
    BEGIN,
    "",
    "## Decoding slots (what each instance costs Postgres)",
    "",
    "Every instance streams its own logical slot (`docs/scaling.md`), and Postgres runs one WAL",
    "sender per streamed slot that reads and decodes all WAL of the cluster, whatever the",
    "publication keeps. `scripts/bench/decoding_slot.ts` measures that CPU on the read-path",
    "benchmark's workload (table `items`, electrified, 1,000 rows): a paced phase of single-row",
    "autocommit INSERTs and UPDATEs in turn (scenarios b–d of Sync), then a bulk phase of",
    "100-row transactions over four connections (scenario e). Each configuration runs on a fresh",
    "database of one temporary cluster (fsync off) with 0, 1, 2 or 3 slots streamed; a phase",
    "ends when every WAL sender has sent past a logical message committed after its last write.",
    "CPU is user + system time from `/proc/<pid>/stat`: the WAL senders (divided by their",
    "number: per slot), all of Postgres (postmaster, its live children and those it reaped:",
    "backends, WAL writer, checkpointer…), and the service instances, per 1,000 workload",
    "transactions and per MB of WAL written during the phase (heartbeats and markers",
    "included). The slope of all Postgres CPU over the number of slots is the marginal cost of",
    "one more instance to Postgres.",
    "",
  ].join("\n");
  // Keep the other consumer's subsection when there is one.
  const other = CONSUMER === "service" ? "decoder" : "service";
  const otherBegin = `<!-- decoding-slot:${other}:begin -->`;
  const otherEnd = `<!-- decoding-slot:${other}:end -->`;
  const kept = existing.includes(otherBegin)
    ? existing.slice(existing.indexOf(otherBegin), existing.indexOf(otherEnd) + otherEnd.length)
    : "";
  const parts = CONSUMER === "service" ? [section, kept] : [kept, section];
  writeSection(
    BEGIN,
    END,
    [intro, ...parts.filter((p) => p !== ""), "", END].join("\n\n").replace(/\n{3,}/g, "\n\n"),
  );
}
process.exit(failures.length > 0 ? 1 : 0);
