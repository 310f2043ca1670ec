import { test } from "node:test";
import assert from "node:assert/strict";
import { MetricsRegistry } from "../../telemetry/mod.ts";
import { SatelliteMetrics, type SessionView } from "./metrics.ts";

function setup(wal?: { serverWalEnd: bigint; consumed: bigint }, last?: bigint) {
  const registry = new MetricsRegistry();
  const metrics = new SatelliteMetrics(registry, {
    log: { lastLsn: () => last },
    authenticated: () => 2,
    wal: () => wal,
  });
  const value = (name: string) => registry.snapshot().find((s) => s.name === name)?.value;
  return { metrics, value };
}

test("subscriptions are summed over tracked sessions until they end", () => {
  const { metrics, value } = setup();
  const a: SessionView = { subscriptionCount: 2, streamPosition: undefined };
  const b: SessionView = { subscriptionCount: 1, streamPosition: undefined };
  metrics.track(a);
  metrics.track(b);
  assert.equal(value("electric_subscriptions"), 3);
  assert.equal(value("electric_clients_authenticated"), 2);
  metrics.untrack(a);
  assert.equal(value("electric_subscriptions"), 1);
});

test("lag in bytes: from the slowest client behind the log, else from what the reader consumed", () => {
  const wal = { serverWalEnd: 1_000n, consumed: 900n };
  const { metrics, value } = setup(wal, 800n);
  assert.equal(value("electric_replication_lag_bytes"), 100);
  metrics.track({ subscriptionCount: 0, streamPosition: 800n }); // caught up with the log
  assert.equal(value("electric_replication_lag_bytes"), 100);
  metrics.track({ subscriptionCount: 0, streamPosition: 500n }); // behind
  assert.equal(value("electric_replication_lag_bytes"), 500);
  assert.equal(setup(undefined, 800n).value("electric_replication_lag_bytes"), 0);
});

test("lag in seconds is measured at the first handover of each transaction", () => {
  const { metrics, value } = setup();
  const committed = new Date(Date.now() - 1_500);
  metrics.handedOver({ lsn: 10n, commitTimestamp: committed });
  const first = value("electric_replication_lag_seconds")!;
  assert.ok(first >= 1.5 && first < 5, String(first));
  // Another client handed the same (or an older) transaction: not measured again.
  metrics.handedOver({ lsn: 10n, commitTimestamp: new Date(0) });
  metrics.handedOver({ lsn: 5n, commitTimestamp: new Date(0) });
  assert.equal(value("electric_replication_lag_seconds"), first);
  assert.equal(value("electric_replication_handover_seconds"), 1);
  // A commit time ahead of this clock reads 0, not a negative lag.
  metrics.handedOver({ lsn: 11n, commitTimestamp: new Date(Date.now() + 60_000) });
  assert.equal(value("electric_replication_lag_seconds"), 0);
});
