/**
 * Where the read path spends its time per row, stage by stage, in one process (no network,
 * no client): the pgoutput stream of `--rows` rows written in `--per-tx`-row transactions on
 * an electrified table is recorded first, then replayed through the service's own stages —
 * stream session (pgoutput decode, transaction assembly, tag enrichment), transaction log,
 * one stateless shape group's filter, and encoding the ops for a client — timing each.
 * Complements `scripts/bench/sync.ts` (end to end) when looking for what to make faster.
 *
 *   deno run -A scripts/bench/read_pipeline.ts [--rows 100000] [--per-tx 100]
 *   (or bun scripts/bench/read_pipeline.ts …)
 */
import postgres from "postgres";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startCluster } from "../../src/embedded/mod.ts";
import {
  InMemoryTransactionLog,
  replicationConnectionFrom,
  ReplicationStreamSession,
  type Transaction,
} from "../../src/replication/mod.ts";
import { applyMigration, EMPTY_SCHEMA, findTable } from "../../src/schema/mod.ts";
import { SharedFrames } from "../../src/satellite/mod.ts";
import { groupDefinition, planSubscription } from "../../src/shapes/mod.ts";
import { bootstrapElectricSchema, ensurePublication } from "../../src/storage/mod.ts";
import { parseLsn } from "../../src/pgwire/mod.ts";
import { startReplication } from "../../src/replication/slots.ts";
import { StatelessGroup } from "../../src/sync/mod.ts";
import { headerOf } from "../../src/satellite/session/tx_writer.ts";

const argv = process.argv.slice(2);
const arg = (name: string, fallback: string) => {
  const at = argv.indexOf(`--${name}`);
  return at >= 0 ? argv[at + 1] : fallback;
};
const ROWS = Number(arg("rows", "100000"));
const PER_TX = Number(arg("per-tx", "100"));
const DDL = "CREATE TABLE items (id uuid PRIMARY KEY, value text, n int4, ts timestamptz)";

const dir = mkdtempSync(join(tmpdir(), "electric-read-pipeline-"));
const started = await startCluster({
  dataDir: join(dir, "pgdata"),
  extraSettings: { fsync: "off" },
});
if (!started.ok) throw new Error(started.error.message);
const url = started.cluster.url;
const sql = postgres(url, { max: 2, onnotice: () => {} });
const repl = replicationConnectionFrom(sql as never)() as unknown as postgres.Sql;
try {
  await bootstrapElectricSchema(sql);
  await ensurePublication(sql);
  await sql.unsafe(DDL);
  await sql`CALL electric.electrify('items')`;
  const [slot] = await repl.unsafe(
    `CREATE_REPLICATION_SLOT pipeline LOGICAL pgoutput NOEXPORT_SNAPSHOT`,
  );
  const lsn = String(slot.consistent_point);
  for (let done = 0; done < ROWS; done += PER_TX) {
    await sql`INSERT INTO items SELECT gen_random_uuid(), 'value ' || g, g, now()
               FROM generate_series(${done + 1}::int, ${done + PER_TX}::int) g`;
  }
  const [{ end }] = await sql`SELECT pg_current_wal_lsn()::text AS end`;
  const stream = await startReplication(repl as never, {
    slot: "pipeline",
    startLsn: parseLsn(lsn)!,
    publication: "electric_publication",
  }) as unknown as NodeJS.ReadWriteStream;
  const chunks: Uint8Array[] = [];
  const session = new ReplicationStreamSession({
    origin: "postgres_1",
    startLsn: 0n,
    statusIntervalMs: 1e9,
  });
  let seenTx = 0;
  let seenRows = 0;
  const rowsSeen = (txs: { transaction: Transaction }[]) => {
    for (const { transaction } of txs) {
      seenRows += transaction.changes.filter((c) =>
        c.kind === "insert" && c.relation.table === "items"
      ).length;
    }
    return seenRows;
  };
  stream.on("error", () => {}); // ending the stream below closes the connection
  await new Promise<void>((resolve) => {
    stream.on("data", (chunk: Uint8Array) => {
      chunks.push(new Uint8Array(chunk));
      const out = session.receive(chunk, 0);
      seenTx += out.transactions.length;
      for (const reply of out.replies) void reply;
      if (rowsSeen(out.transactions) >= ROWS) resolve();
    });
  });
  stream.end();
  console.log(`recorded ${chunks.length} messages up to ${end}`);

  const applied = await applyMigration(EMPTY_SCHEMA, "1", [DDL], { tableOid: () => 16384 });
  if (!applied.ok) throw new Error("schema");
  const model = applied.model;
  const planned = await planSubscription(
    {
      subscriptionId: "00000000-0000-0000-0000-000000000001",
      shapeRequests: [{
        requestId: "r",
        selectCount: 1,
        select: { tablename: "items", where: "", include: [] },
      }],
    },
    model,
    { activeSubscriptionIds: new Set() },
  );
  if (!planned.ok) throw new Error("plan");
  const definition = groupDefinition(planned.plan.requests.map((r) => r.root), "u");
  const table = findTable(model, "public", "items")!;

  for (let round = 0; round < 3; round++) {
    const t0 = performance.now();
    const fresh = new ReplicationStreamSession({
      origin: "postgres_1",
      startLsn: 0n,
      statusIntervalMs: 1e9,
    });
    const txs: Transaction[] = [];
    for (const chunk of chunks) {
      for (const { transaction } of fresh.receive(chunk, 0).transactions) txs.push(transaction);
    }
    const t1 = performance.now();
    const log = new InMemoryTransactionLog({ maxBytes: 1e10 });
    log.markStart(0n);
    for (const tx of txs) log.append(tx);
    const t2 = performance.now();
    const group = new StatelessGroup(definition);
    const steps = txs.map((tx) => group.step(tx));
    const t3 = performance.now();
    const frames = new SharedFrames();
    let bytes = 0;
    for (let i = 0; i < txs.length; i++) {
      const encoded = frames.entries(steps[i], steps[i].changes, model, () => table);
      bytes += frames.transactionFrame(headerOf(txs[i]), encoded.entries).length;
    }
    const t4 = performance.now();
    const rows = steps.reduce((n, s) => n + s.changes.length, 0);
    const per = (ms: number) => `${((ms * 1000) / rows).toFixed(2)} µs/row`;
    console.log(
      `round ${round + 1}: ${rows} rows in ${txs.length} transactions; ` +
        `session ${per(t1 - t0)}, log ${per(t2 - t1)}, filter ${per(t3 - t2)}, ` +
        `encode ${per(t4 - t3)} (${(bytes / 2 ** 20).toFixed(1)} MiB); ` +
        `total ${per(t4 - t0)} = ${Math.round(rows / ((t4 - t0) / 1000))} rows/s`,
    );
  }
} finally {
  await repl.end({ timeout: 1 }).catch(() => {});
  await sql.end({ timeout: 1 });
  await started.cluster.stop();
  rmSync(dir, { recursive: true, force: true });
}
process.exit(0);
