/**
 * The status page in a real browser: the service with a short sampling period, a Satellite
 * client subscribed to an electrified table, and `/` loaded in headless Chromium. The page
 * must show the client, and its figures and charts must move when rows are written, with no
 * console errors on the way. A second page, served in-process with no metrics registered,
 * must show dashes and error messages as text, again without errors.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import type postgres from "postgres";
import { createApp } from "../../src/http/mod.ts";
import { loadRuntime } from "../../src/runtime/mod.ts";
import {
  createLogger,
  MetricsRegistry,
  RecentErrors,
  StatusHistory,
} from "../../src/telemetry/mod.ts";
import { type Chromium, launchChromium } from "../helpers/chromium.ts";
import {
  electrify,
  type ServiceOnFreshDatabase,
  startServiceOnFreshDatabase,
} from "../helpers/electrified_service.ts";
import { connectClient, insecureToken, type TestClient } from "../helpers/satellite_client.ts";
import { authenticate, startReplication, subscribeTable } from "../helpers/satellite_rpc.ts";
import { waitFor } from "../helpers/wait.ts";
import type { ServiceProcess } from "../helpers/service_process.ts";

let db: ServiceOnFreshDatabase["db"] | undefined;
let sql: postgres.Sql | undefined;
let service: ServiceProcess | undefined;
let client: TestClient | undefined;
let browser: Chromium | undefined;
let port: number;

before(async () => {
  // First, so a machine without Chromium fails at once with the way to install it.
  browser = await launchChromium();
  ({ db, sql, service, port } = await startServiceOnFreshDatabase(
    `CREATE TABLE items (id text PRIMARY KEY, value text)`,
    { METRICS_MEASUREMENT_PERIOD: "200" },
  ));
  await electrify(sql, ["items"]);
  await sql`INSERT INTO items VALUES ('a', 'first')`;
});

after(async () => {
  client?.close();
  await browser?.close();
  service?.kill();
  await sql?.end();
  await db?.drop();
});

async function subscribedClient(): Promise<TestClient> {
  const c = await connectClient(`ws://127.0.0.1:${port}/ws`);
  await authenticate(c, insecureToken({ sub: "user-1" }));
  const started = await startReplication(c);
  assert.equal(started.err, undefined);
  // The table is known to the client once its migration arrived.
  await c.next("SatRelation", { where: (f) => f.message.tableName === "items" });
  const subscribed = await subscribeTable(c, "items");
  assert.equal(subscribed.err, undefined);
  await c.next("SatSubsDataEnd");
  return c;
}

test("the status page shows the client and its figures move when rows are written", async () => {
  client = await subscribedClient();
  const page = await browser!.context.newPage();
  const problems: string[] = [];
  page.on("console", (message) => {
    if (message.type() === "error") problems.push(`console: ${message.text()}`);
  });
  page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));

  const response = await page.goto(`http://127.0.0.1:${port}/`);
  assert.equal(response?.status(), 200);
  assert.equal(await page.title(), "Electric status");
  const lastText = new Map<string, string>();
  const figure = async (path: string) => {
    const text = (await page.locator(`[data-figure="${path}"]`).textContent()) ?? "";
    lastText.set(path, text);
    return text;
  };
  /** Waits until the figure at `path` satisfies `ok`; the page refreshes every 2 s. */
  const shows = (path: string, ok: (text: string) => boolean, what: string) =>
    waitFor(async () => ok(await figure(path)), {
      timeoutMs: 20_000,
      intervalMs: 100,
      what: () => `${what} ("${path}" shows "${lastText.get(path)}") ${problems.join("; ")}`,
    });
  const isNumber = (text: string) => /^\d[\d,]*$/.test(text);

  await shows("postgres.state", (text) => text === "ready", "Postgres is up");
  await shows("clients.connected", (text) => text === "1", "one client connected");
  assert.match(await figure("postgres.slot"), /^electric_replication_out_/);
  await shows("sent.rows_total", isNumber, "rows sent is counted");
  await shows("postgres.transactions_received_total", isNumber, "transactions in is counted");
  const rowsBefore = await figure("sent.rows_total");
  const receivedBefore = await figure("postgres.transactions_received_total");

  for (let i = 0; i < 5; i++) await sql!`INSERT INTO items VALUES (${`row-${i}`}, 'live')`;
  await client.next("SatOpLog", {
    where: (f) => f.message.ops.some((op) => op.op.case === "insert"),
  });

  const moved = (before: string) => (text: string) => isNumber(text) && text !== before;
  await shows("sent.rows_total", moved(rowsBefore), "rows sent to move");
  await shows(
    "postgres.transactions_received_total",
    moved(receivedBefore),
    "transactions in to move",
  );
  // The chart of rows/s has drawn a peak: its maximum over the window is above zero.
  const chartMax = page.locator('[data-chart-max="rows_per_second"]');
  const chartPath = page.locator('svg[data-chart="rows_per_second"] path');
  await waitFor(async () => {
    const max = Number(/^max ([\d.]+)$/.exec((await chartMax.textContent()) ?? "")?.[1]);
    return max > 0 && (await chartPath.getAttribute("d")) !== "";
  }, { timeoutMs: 20_000, intervalMs: 100, what: "the rows/s chart to show a peak" });

  assert.deepEqual(problems, []);
  await page.close();
});

test("with no metrics at all the page shows dashes, the state and the errors, without errors", async () => {
  const registry = new MetricsRegistry();
  const history = new StatusHistory({ snapshot: () => registry.snapshot() });
  history.sample();
  const errors = new RecentErrors();
  errors.add("error", "Replication stream lost: <b>reset</b>", "postgres");
  const app = createApp({
    logger: createLogger({ level: "error", write: () => {} }),
    connectorState: () => "initialization",
    proxyTunnelEnabled: false,
    status: { metrics: registry, history, recentErrors: errors },
  });
  const runtime = await loadRuntime();
  const served = runtime.serve({ port: 0, hostname: "127.0.0.1", fetch: app.fetch });
  assert.ok(served.ok);
  const page = await browser!.context.newPage();
  try {
    const problems: string[] = [];
    page.on("console", (message) => {
      if (message.type() === "error") problems.push(`console: ${message.text()}`);
    });
    page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
    await page.goto(`http://127.0.0.1:${served.server.port}/`);
    const refreshes = page.locator("body");
    await waitFor(async () => Number(await refreshes.getAttribute("data-refreshes")) >= 1, {
      what: "the page to refresh once",
    });
    assert.equal(await page.locator("#state").textContent(), "Postgres initialization");
    assert.equal(await page.locator('[data-figure="clients.connected"]').textContent(), "\u2013");
    assert.equal(
      await page.locator('[data-figure="rates.rows_per_second"]').textContent(),
      "\u2013",
    );
    assert.equal(
      await page.locator("#errors td.message").textContent(),
      "Replication stream lost: <b>reset</b>",
    );
    assert.deepEqual(problems, []);
  } finally {
    await page.close();
    await served.server.close();
  }
});
