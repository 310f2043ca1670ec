/**
 * Metrics of the running service: StatsD datagrams reach a UDP listener (STATSD_HOST) every
 * METRICS_MEASUREMENT_PERIOD, and `GET /metrics` shows rows sent growing as rows are written
 * to an electrified table a client subscribed to.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import dgram from "node:dgram";
import process from "node:process";
import type postgres from "postgres";
import {
  electrify,
  type ServiceOnFreshDatabase,
  startServiceOnFreshDatabase,
} from "../helpers/electrified_service.ts";
import { connectClient, insecureToken, type TestClient } from "../helpers/satellite_client.ts";
import { authenticate, startReplication, subscribeTable } from "../helpers/satellite_rpc.ts";
import type { ServiceProcess } from "../helpers/service_process.ts";
import { waitFor } from "../helpers/wait.ts";

let db: ServiceOnFreshDatabase["db"];
let sql: postgres.Sql;
let port: number;
let service: ServiceProcess;
let statsd: dgram.Socket;
const datagrams: string[] = [];
const clients: TestClient[] = [];

before(async () => {
  statsd = dgram.createSocket("udp4");
  statsd.on("message", (message) => datagrams.push(new TextDecoder().decode(message)));
  await new Promise<void>((resolve) => statsd.bind(0, "127.0.0.1", () => resolve()));
  const statsdPort = (statsd.address() as { port: number }).port;
  ({ db, sql, service, port } = await startServiceOnFreshDatabase(
    `CREATE TABLE items (id text PRIMARY KEY, value text)`,
    {
      STATSD_HOST: `127.0.0.1:${statsdPort}`,
      METRICS_MEASUREMENT_PERIOD: "200",
      ELECTRIC_INSTANCE_ID: "metrics-e2e",
    },
  ));
  await electrify(sql, ["items"]);
  await sql`INSERT INTO items VALUES ('a', 'first'), ('b', 'second')`;
  // Clients see the table once the service has the migration.
  await service.waitForOutput(/Saved schema version 20240601120000/, 20_000);
});

after(async () => {
  for (const client of clients) client.close();
  if (process.env.METRICS_TEST_DEBUG) console.log(service.output());
  service.kill();
  await service.exited;
  statsd.close();
  await sql.end();
  await db.drop();
});

async function authenticated(): Promise<TestClient> {
  const client = await connectClient(`ws://127.0.0.1:${port}/ws`);
  clients.push(client);
  await authenticate(client, insecureToken({ sub: "user-1" }));
  return client;
}

/** StatsD lines received since `from` (an index into `datagrams`). */
function statsdLines(from = 0): string[] {
  return datagrams.slice(from).flatMap((datagram) => datagram.split("\n"));
}

/** Counters go out as deltas: their sum is the total (the electrification is one at least). */
function receivedTotal(): number {
  return statsdLines()
    .filter((line) => line.startsWith("electric_transactions_received_total:"))
    .map((line) => Number(line.slice(line.indexOf(":") + 1, line.indexOf("|"))))
    .reduce((a, b) => a + b, 0);
}

/** `/metrics` as series (`electric_rows_sent_total{phase="live"}`) to values. */
async function scrape(): Promise<Map<string, number>> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("content-type"), "text/plain; version=0.0.4; charset=utf-8");
  const values = new Map<string, number>();
  for (const line of (await res.text()).split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const space = line.lastIndexOf(" ");
    values.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return values;
}

test("StatsD: client gauges and transactions received arrive over UDP, tagged", async () => {
  const from = datagrams.length;
  const client = await authenticated();
  const tag = "#instance_id:metrics-e2e";
  await waitFor(() => {
    const lines = statsdLines(from);
    return lines.includes(`electric_clients_connected:1|g|${tag}`) &&
      lines.includes(`electric_clients_authenticated:1|g|${tag}`) &&
      receivedTotal() >= 1;
  }, {
    timeoutMs: 10_000,
    what: () => `StatsD lines; got:\n${statsdLines(from).slice(-40).join("\n")}`,
  });
  for (const datagram of datagrams) assert.ok(new TextEncoder().encode(datagram).length <= 1400);
  const lines = statsdLines(from);
  assert.ok(lines.some((line) => line.startsWith("process_resident_memory_bytes:")));
  assert.ok(lines.includes(`electric_postgres_connected:1|g|${tag}`));
  assert.ok(
    lines.some((line) =>
      line.startsWith("electric_rows_sent_total:") && line.endsWith(",phase:live")
    ),
  );
  client.close();
  await client.closed;
  const closedFrom = datagrams.length;
  await waitFor(() => statsdLines(closedFrom).includes(`electric_clients_connected:0|g|${tag}`), {
    timeoutMs: 10_000,
    what: "the connected clients gauge back at 0",
  });
});

test("/metrics: rows sent grow as rows are written to a subscribed table", async () => {
  const client = await authenticated();
  await startReplication(client);
  const before = await scrape();
  await subscribeTable(client, "items");
  await client.next("SatSubsDataEnd");
  const initial = 'electric_rows_sent_total{phase="initial"}';
  const live = 'electric_rows_sent_total{phase="live"}';
  const synced = await scrape();
  assert.ok(
    synced.get(initial)! >= before.get(initial)! + 2,
    `initial rows: ${synced.get(initial)}`,
  );
  assert.ok(
    synced.get('electric_bytes_sent_total{phase="initial"}')! >
      before.get('electric_bytes_sent_total{phase="initial"}')!,
  );
  assert.equal(synced.get("electric_subscriptions"), 1);
  assert.ok(synced.get("electric_shapes")! >= 1);
  assert.equal(synced.get("electric_postgres_connected"), 1);

  await sql`INSERT INTO items VALUES ('c', 'x'), ('d', 'y'), ('e', 'z')`;
  await client.next("SatOpLog", {
    where: (f) => f.message.ops.filter((op) => op.op.case === "insert").length === 3,
  });
  const after = await waitFor(async () => {
    const now = await scrape();
    return now.get(live)! >= synced.get(live)! + 3 ? now : undefined;
  }, { timeoutMs: 10_000, what: "live rows sent to grow by 3" });
  assert.ok(
    after.get("electric_transactions_sent_total")! >
      synced.get("electric_transactions_sent_total")!,
  );
  assert.ok(
    after.get("electric_transactions_received_total")! >
      synced.get("electric_transactions_received_total")!,
  );
  assert.ok(
    after.get('electric_bytes_sent_total{phase="live"}')! >
      synced.get('electric_bytes_sent_total{phase="live"}')!,
  );
  // The write was handed over: the lag gauges read a commit-to-handover time and a WAL distance.
  assert.ok(after.get("electric_replication_lag_seconds")! >= 0);
  assert.ok(after.get("electric_replication_handover_seconds_count")! >= 1);
  assert.ok(after.has("electric_replication_lag_bytes"));
  assert.ok(after.get("electric_transaction_cache_transactions")! >= 1);
  assert.ok(after.get("electric_transaction_cache_limit_bytes")! > 0);
  assert.ok(after.has("electric_event_loop_delay_seconds"));
});
