/**
 * The real electric-sql@0.12.1 client (Node, better-sqlite3, built by the interop harness)
 * driven for the sync benchmark. Run with TZ=UTC:
 *
 *   node scripts/bench/sync/real_client.mjs '<json options>'
 *
 * Options: { serviceUrl, databaseUrl, rows, latency?: { rate, samples, warmup, insertValue,
 * updateIds } }. Reports JSON lines on stdout:
 *   {"event":"connected"}
 *   {"event":"initial","ms":…,"rows":…}   sync() called → `synced` resolved and COUNT(*) = rows
 *   {"event":"latency","values":[…],"lost":…}   commit → row visible in SQLite, in ms
 *   {"event":"error","message":…}
 *
 * Latency: this process is also the writer (postgres.js), so commit and visibility are read on
 * one clock. Visibility is detected with `electric.notifier.subscribeToDataChanges` (the client
 * notifies right after committing a remote transaction to SQLite) and confirmed by reading the
 * row by primary key; the time taken is when that read returns. The client keeps timers alive
 * after close(), so the process exits explicitly.
 */
import postgres from "postgres";
import { createClient } from "../../../tests/interop/harness/client.mjs";

const MARKER_BASE = 1_000_000_000;
const options = JSON.parse(process.argv[2] ?? "{}");

/** @param {Record<string, unknown>} event */
function report(event) {
  process.stdout.write(`${JSON.stringify(event)}\n`);
}

async function main() {
  const client = await createClient({
    serviceUrl: options.serviceUrl,
    tables: {
      items: { fields: { id: "UUID", value: "TEXT", n: "INT4", ts: "TIMESTAMPTZ" } },
    },
    timeout: 30_000,
  });
  await client.connect(60_000);
  report({ event: "connected" });

  const started = performance.now();
  await client.sync("items", {}, 1_200_000);
  const [{ count }] = await client.query("SELECT COUNT(*) AS count FROM items");
  const ms = performance.now() - started;
  if (Number(count) !== options.rows) {
    throw new Error(`SQLite holds ${count} rows after sync, expected ${options.rows}`);
  }
  report({ event: "initial", ms, rows: Number(count) });

  if (options.latency) await measureLatency(client, options.latency);
  await Promise.race([client.close(), new Promise((r) => setTimeout(r, 2000))]);
}

/**
 * @param {Awaited<ReturnType<typeof createClient>>} client
 * @param {{ rate: number, samples: number, warmup: number, insertValue: string, updateIds: string[] }} o
 */
async function measureLatency(client, o) {
  const sql = postgres(options.databaseUrl, { max: 1, onnotice: () => {} });
  const commitAt = new Float64Array(o.samples).fill(NaN);
  const visibleAt = new Float64Array(o.samples).fill(NaN);
  /** @type {Map<number, { id: string, marker: number }>} sample → row awaited */
  const pending = new Map();
  let checking = false;
  let again = false;
  const check = async () => {
    if (checking) {
      again = true;
      return;
    }
    checking = true;
    try {
      do {
        again = false;
        for (const [sample, row] of pending) {
          const rows = await client.query("SELECT n FROM items WHERE id = ?", [row.id]);
          if (rows.length === 1 && Number(rows[0].n) === row.marker) {
            visibleAt[sample] = performance.now();
            pending.delete(sample);
          }
        }
      } while (again);
    } finally {
      checking = false;
    }
  };
  const unsubscribe = client.electric.notifier.subscribeToDataChanges(() => void check());

  const interval = 1000 / o.rate;
  const start = performance.now();
  for (let s = 0; s < o.samples; s++) {
    const wait = start + s * interval - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    const marker = MARKER_BASE + s;
    if (s % 2 === 0 || o.updateIds.length === 0) {
      const id = crypto.randomUUID();
      pending.set(s, { id, marker });
      await sql`INSERT INTO items (id, value, n, ts) VALUES (${id}, ${o.insertValue}, ${marker}, now())`;
    } else {
      const id = o.updateIds[(s >> 1) % o.updateIds.length];
      pending.set(s, { id, marker });
      await sql`UPDATE items SET n = ${marker}, ts = now() WHERE id = ${id}`;
    }
    commitAt[s] = performance.now();
  }
  const deadline = performance.now() + 30_000;
  while (pending.size > 0 && performance.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    if (pending.size > 0) await check(); // a last look, in case a notification was missed
  }
  unsubscribe();
  await sql.end();
  const values = [];
  let lost = 0;
  for (let s = o.warmup; s < o.samples; s++) {
    if (Number.isNaN(visibleAt[s])) lost++;
    else values.push(Math.max(0, visibleAt[s] - commitAt[s]));
  }
  report({ event: "latency", values, lost });
}

main().then(
  () => process.exit(0),
  (error) => {
    report({ event: "error", message: String(error?.stack ?? error) });
    process.exit(1);
  },
);
