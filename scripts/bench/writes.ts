/**
 * Write-path benchmark: client operations per second applied to Postgres with conflict
 * resolution (merged set-based, src/writes/merged_sql.ts), beside plain INSERTs of the same
 * rows through postgres.js, in the same run.
 *
 *   deno run -A scripts/bench/writes.ts [--runtime deno|bun] [--mode direct_writes|logical_replication]
 *        [--transactions 1000] [--ops 50] [--runs 3] [--write-doc]
 *
 * A raw Satellite client (the protocol the real client speaks) authenticates, answers the
 * service's startReplication request, announces the table and sends N transactions of K
 * inserts each as fast as the socket takes them; the clock stops when Postgres holds every
 * row. Postgres: a temporary embedded cluster (BENCH_DATABASE_URL to use another).
 * Targets (issue 5): >= 5,000 client ops/s, and at least half the plain-INSERT rate.
 */
import { create, toBinary } from "@bufbuild/protobuf";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import postgres from "postgres";
import {
  SatAuthReqSchema,
  SatAuthRespSchema,
  SatInStartReplicationReqSchema,
  SatInStartReplicationRespSchema,
  SatOpLogSchema,
  SatRelationSchema,
  SatRpcResponseSchema,
} from "../../src/gen/mod.ts";
import { findFreePort, startCluster } from "../../src/embedded/mod.ts";
import { encodeFrame } from "../../src/satellite/codec/mod.ts";
import { nullsBitmask } from "../../src/satellite/serialization/mod.ts";
import { connectClient, insecureToken, payloadOf } from "../../tests/helpers/satellite_client.ts";
import { serviceEnv } from "../../tests/helpers/service_config.ts";
import { startService } from "../../tests/helpers/service_process.ts";
import { waitFor } from "../../tests/helpers/wait.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const DOC = join(ROOT, "docs", "benchmarks.md");

function arg(name: string, fallback: string): string {
  const args = "Deno" in globalThis
    ? (globalThis as unknown as { Deno: { args: string[] } }).Deno.args
    : process.argv.slice(2);
  const at = args.indexOf(`--${name}`);
  return at >= 0 && args[at + 1] ? args[at + 1] : fallback;
}
const hasFlag = (name: string) =>
  ("Deno" in globalThis
    ? (globalThis as unknown as { Deno: { args: string[] } }).Deno.args
    : process.argv.slice(2)).includes(`--${name}`);

const TRANSACTIONS = Number(arg("transactions", "1000"));
const OPS = Number(arg("ops", "50"));
const RUNTIME = arg("runtime", "deno");
const MODE = arg("mode", "direct_writes");
const encoder = new TextEncoder();

async function withDatabase<T>(body: (url: string) => Promise<T>): Promise<T> {
  if (process.env.BENCH_DATABASE_URL) return await body(process.env.BENCH_DATABASE_URL);
  const dir = mkdtempSync(join(tmpdir(), "electric-bench-writes-"));
  const started = await startCluster({
    dataDir: join(dir, "pgdata"),
    extraSettings: { fsync: "off", synchronous_commit: "off" },
  });
  if (!started.ok) throw new Error(started.error.message);
  try {
    return await body(started.cluster.url);
  } finally {
    await started.cluster.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

function row(values: string[]) {
  return {
    nullsBitmask: nullsBitmask(values.map(() => false)),
    values: values.map((v) => encoder.encode(v)),
  };
}

async function clientOpsPerSecond(url: string): Promise<number> {
  const sql = postgres(url, { onnotice: () => {}, max: 2 });
  await sql`CREATE TABLE bench_items (id text PRIMARY KEY, value text, n int4)`;
  const port = await findFreePort();
  const command = RUNTIME === "bun"
    ? { command: "bun", args: [join(ROOT, "src/main.ts")] }
    : undefined;
  const service = startService(
    await serviceEnv(url, port, {
      ELECTRIC_WRITE_TO_PG_MODE: MODE,
      LOGICAL_PUBLISHER_HOST: "127.0.0.1",
      LOGICAL_PUBLISHER_PORT: String(await findFreePort()),
      PG_PROXY_PORT: String(await findFreePort()),
      LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? "warning",
    }),
    command ?? {},
  );
  try {
    await service.waitForStatus(port, 200, 30_000);
    await sql`CALL electric.electrify('bench_items')`;
    // Clients write to tables they received the migration of; wait until the service has it.
    await waitFor(async () => {
      const res = await fetch(`http://127.0.0.1:${port}/api/migrations?dialect=sqlite`);
      await res.body?.cancel();
      return res.status === 200;
    }, { timeoutMs: 15_000, what: "the migration of bench_items" });
    const client = await connectClient(`ws://127.0.0.1:${port}/ws`);
    payloadOf(
      SatAuthRespSchema,
      await client.rpc("authenticate", SatAuthReqSchema, {
        id: crypto.randomUUID(),
        token: insecureToken({ sub: "bench" }),
      }),
    );
    await client.rpc("startReplication", SatInStartReplicationReqSchema, {});
    const request = await client.next("SatRpcRequest", {
      where: (f) => f.message.method === "startReplication",
      timeoutMs: 15_000,
    });
    client.send(create(SatRpcResponseSchema, {
      method: "startReplication",
      requestId: request.message.requestId,
      result: {
        case: "message",
        value: toBinary(
          SatInStartReplicationRespSchema,
          create(SatInStartReplicationRespSchema, {}),
        ),
      },
    }));
    client.send(create(SatRelationSchema, {
      schemaName: "public",
      tableName: "bench_items",
      relationId: 1,
      columns: [{ name: "id", type: "text" }, { name: "value", type: "text" }, {
        name: "n",
        type: "int4",
      }],
    }));
    // The client's own work (encoding its transactions, decoding what the service streams
    // back) is kept off the clock: it shares this machine's cores with the service.
    const now = Date.now();
    const frames = Array.from({ length: TRANSACTIONS }, (_, t) => {
      const lsn = new Uint8Array(4);
      new DataView(lsn.buffer).setUint32(0, t + 1);
      const ops = [
        { op: { case: "begin" as const, value: { commitTimestamp: BigInt(now + t), lsn } } },
        ...Array.from({ length: OPS }, (_, i) => ({
          op: {
            case: "insert" as const,
            value: { relationId: 1, rowData: row([`c-${t}-${i}`, "value", String(i)]), tags: [] },
          },
        })),
        { op: { case: "commit" as const, value: {} } },
      ];
      return encodeFrame(create(SatOpLogSchema, { ops }));
    });
    client.ignoreIncoming();
    const started = performance.now();
    for (const frame of frames) client.sendRaw(frame);
    const total = TRANSACTIONS * OPS;
    // Client transactions are applied in order, so the last row stands for all of them; a key
    // lookup keeps the polling from costing the database what a count of the table would.
    const lastKey = `c-${TRANSACTIONS - 1}-${OPS - 1}`;
    let seconds: number;
    try {
      await waitFor(async () => {
        const rows = await sql`SELECT 1 FROM bench_items WHERE id = ${lastKey}`;
        return rows.length === 1;
      }, { timeoutMs: 120_000, intervalMs: 5, what: "the last client row in Postgres" });
      seconds = (performance.now() - started) / 1000;
      const [{ n }] = await sql`SELECT count(*)::int AS n FROM bench_items`;
      if (n !== total) throw new Error(`Postgres holds ${n} of the ${total} client rows`);
    } catch (error) {
      console.error(service.output().slice(-4000));
      throw error;
    }
    client.close();
    return total / seconds;
  } finally {
    service.kill();
    await sql.end();
  }
}

async function plainInsertsPerSecond(url: string): Promise<number> {
  const sql = postgres(url, { onnotice: () => {}, max: 1 });
  await sql`CREATE TABLE plain_items (id text PRIMARY KEY, value text, n int4)`;
  const started = performance.now();
  for (let t = 0; t < TRANSACTIONS; t++) {
    await sql.begin((tx) =>
      Promise.all(
        Array.from({ length: OPS }, (_, i) =>
          tx`INSERT INTO plain_items VALUES (${`p-${t}-${i}`}, 'value', ${i})`),
      )
    );
  }
  const seconds = (performance.now() - started) / 1000;
  await sql.end();
  return (TRANSACTIONS * OPS) / seconds;
}

const RUNS = Number(arg("runs", process.env.BENCH_DATABASE_URL ? "1" : "3"));
if (process.env.BENCH_DATABASE_URL && RUNS !== 1) {
  throw new Error("With BENCH_DATABASE_URL the benchmark makes one run (its tables stay behind)");
}
const samples: { client: number; plain: number }[] = [];
for (let run = 0; run < RUNS; run++) {
  samples.push(
    await withDatabase(async (url) => {
      const client = await clientOpsPerSecond(url);
      const plain = await plainInsertsPerSecond(url);
      return { client, plain };
    }),
  );
}
// The run with the median ratio: both rates of one run, so they saw the same machine load.
const result = samples.toSorted((a, b) => a.client / a.plain - b.client / b.plain)[
  Math.floor(samples.length / 2)
];
const ratios = samples.map((s) => (s.client / s.plain).toFixed(2)).join(", ");

const ratio = result.client / result.plain;
const line = `| ${MODE} | ${RUNTIME} | ${TRANSACTIONS} × ${OPS} | ${Math.round(result.client)} | ${
  Math.round(result.plain)
} | ${ratio.toFixed(2)} | ${ratios} | ${result.client >= 5000 && ratio >= 0.5 ? "yes" : "no"} |`;
const TABLE_HEAD = [
  "| mode | runtime | transactions × ops | client ops/s | plain INSERT rows/s | ratio | ratios of all runs | targets met |",
  "|---|---|---|---:|---:|---:|---|:---:|",
];
console.log(TABLE_HEAD.join("\n"));
console.log(line);

if (hasFlag("write-doc")) {
  const doc = readFileSync(DOC, "utf8");
  const begin = "<!-- writes:begin -->";
  const end = "<!-- writes:end -->";
  const header = [
    begin,
    "",
    "## Writes",
    "",
    "Client operations applied to Postgres with conflict resolution, sent by a raw Satellite client",
    "(the protocol the real client speaks) as N transactions of K inserts and timed until Postgres",
    "holds every row; beside plain INSERTs of the same rows through postgres.js (one transaction per",
    "K rows, pipelined) in the same run. The client's own work (encoding, and decoding what the",
    "service streams back to it) is off the clock. Each row is the run with the median ratio of",
    "`--runs` runs, each on a fresh Postgres. Targets (issue 5): >= 5,000 client ops/s, and at least",
    "half the plain-INSERT rate.",
    "",
    "```sh",
    "deno run -A scripts/bench/writes.ts --runtime <deno|bun> --mode <direct_writes|logical_replication> --write-doc",
    "```",
    "",
    `- Date: ${
      new Date().toISOString().slice(0, 10)
    }; machine: ${cpus().length} cores, shared by the`,
    "  service, Postgres and the benchmark client; Postgres with fsync off.",
    "",
    ...TABLE_HEAD,
  ];
  let rows: string[] = [];
  if (doc.includes(begin)) {
    const section = doc.slice(doc.indexOf(begin), doc.indexOf(end));
    rows = section.split("\n").filter((l) =>
      l.startsWith("| ") && !l.startsWith("| mode") && !l.includes(`| ${MODE} | ${RUNTIME} |`)
    );
  }
  const sectionText = [...header, ...rows, line, "", end].join("\n");
  const next = doc.includes(begin)
    ? doc.slice(0, doc.indexOf(begin)) + sectionText + doc.slice(doc.indexOf(end) + end.length)
    : doc.replace(/## Writes\n[\s\S]*?(?=\n## )/, sectionText + "\n");
  writeFileSync(DOC, next);
  // Generated Markdown goes through the project formatter so `deno fmt --check` stays clean.
  spawnSync(join(ROOT, "node_modules", ".bin", "deno"), ["fmt", "--quiet", DOC], {
    stdio: "inherit",
  });
}
