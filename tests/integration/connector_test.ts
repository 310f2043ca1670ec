/**
 * The Postgres connector against real clusters: it becomes ready, refuses a server without
 * wal_level=logical, and reconnects after Postgres goes away.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startCluster } from "../../src/embedded/mod.ts";
import { type ConnectorFatal, PostgresConnector } from "../../src/storage/mod.ts";
import { createLogger } from "../../src/telemetry/mod.ts";
import { databaseUrl, freshDatabase, startScratchCluster } from "../helpers/pg_cluster.ts";
import { testConfig } from "../helpers/service_config.ts";
import { waitFor } from "../helpers/wait.ts";

const quiet = createLogger({ level: "error", write: () => {} });

function connectorFor(url: string, onFatal: (f: ConnectorFatal) => void = () => {}) {
  const config = testConfig(url);
  return new PostgresConnector({
    database: config.database,
    writeMode: config.writeMode,
    logger: quiet,
    onFatal,
    healthCheckIntervalMs: 50,
    healthCheckTimeoutMs: 1000,
    backoff: () => 50,
  });
}

test("the connector becomes ready on a logical server and stops cleanly", async () => {
  const db = await freshDatabase();
  const connector = connectorFor(db.url);
  const stop = new AbortController();
  const running = connector.run(stop.signal);
  try {
    assert.equal(await connector.whenReady(10_000), true);
    assert.equal(connector.status().state, "ready");
    assert.equal(connector.status().connected, true);
    assert.ok(connector.sql);
  } finally {
    stop.abort();
    await running;
    await db.drop();
  }
  assert.equal(connector.status().connected, false);
});

test("wal_level=replica is refused as fatal with the fix, without installing anything", async () => {
  const cluster = await startScratchCluster({ walLevel: "replica" });
  try {
    const fatals: ConnectorFatal[] = [];
    const connector = connectorFor(databaseUrl(cluster.url, "postgres"), (f) => fatals.push(f));
    await connector.run(new AbortController().signal);
    assert.equal(fatals.length, 1);
    const fatal = fatals[0];
    assert.equal(fatal.code, "DATABASE_MISCONFIGURED");
    if (fatal.code === "DATABASE_MISCONFIGURED") {
      assert.equal(fatal.problems[0].code, "WAL_LEVEL_NOT_LOGICAL");
      assert.match(fatal.problems[0].hint, /wal_level/);
    }
    assert.notEqual(connector.status().state, "ready");
  } finally {
    await cluster.stop();
  }
});

test("the connector reports the outage and reconnects when Postgres comes back", async () => {
  const dir = mkdtempSync(join(tmpdir(), "electric-reconnect-"));
  const dataDir = join(dir, "pgdata");
  const first = await startCluster({ dataDir, extraSettings: { fsync: "off" } });
  assert.ok(first.ok, "cluster starts");
  const port = first.cluster.port;
  const connector = connectorFor(first.cluster.url);
  const stop = new AbortController();
  const running = connector.run(stop.signal);
  let restarted: Awaited<ReturnType<typeof startCluster>> | undefined;
  try {
    assert.equal(await connector.whenReady(10_000), true);
    await first.cluster.stop();
    await waitFor(() => connector.status().state !== "ready", {
      timeoutMs: 10_000,
      what: "the connector to notice Postgres is gone",
    });
    assert.equal(connector.status().connected, false);
    restarted = await startCluster({ dataDir, port, extraSettings: { fsync: "off" } });
    assert.ok(restarted.ok, "cluster restarts");
    assert.equal(await connector.whenReady(15_000), true, "ready again");
  } finally {
    stop.abort();
    await running;
    if (restarted?.ok) await restarted.cluster.stop();
    await first.cluster.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test("with its default health checks the connector stops reporting ready within a second of losing Postgres", async () => {
  const dir = mkdtempSync(join(tmpdir(), "electric-outage-"));
  const started = await startCluster({
    dataDir: join(dir, "pgdata"),
    extraSettings: { fsync: "off" },
  });
  assert.ok(started.ok, "cluster starts");
  const config = testConfig(started.cluster.url);
  const connector = new PostgresConnector({
    database: config.database,
    writeMode: config.writeMode,
    logger: quiet,
    onFatal: () => {},
  });
  const stop = new AbortController();
  const running = connector.run(stop.signal);
  try {
    assert.equal(await connector.whenReady(10_000), true);
    await started.cluster.stop();
    const gone = performance.now();
    await waitFor(() => connector.status().state !== "ready", {
      timeoutMs: 1_000,
      intervalMs: 10,
      what: "the connector to stop reporting ready",
    });
    assert.ok(performance.now() - gone <= 1_000);
  } finally {
    stop.abort();
    await running;
    rmSync(dir, { recursive: true, force: true });
  }
});
