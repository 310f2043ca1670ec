/**
 * The instances sharing one database (`electric.instances`): each registers its slot set when
 * it connects and keeps a heartbeat; each also looks for instances gone longer than
 * ELECTRIC_INSTANCE_EXPIRY and drops what they leave behind, because a dead instance's main
 * slot pins WAL from its window onwards for as long as it exists.
 *
 * What a reap removes: the main and live slots (logging the WAL each held back), the
 * subscription in `logical_replication` mode (disabled and detached from its remote slot
 * first, so dropping it does not try to reach the dead publisher), the persisted position and
 * the row. Under `pg_try_advisory_xact_lock` per slot set and a re-check of the heartbeat in
 * the same transaction, so two live instances never drop the same slots and an instance that
 * came back in time is left alone (its registration waits for the row lock, then finds no row
 * and registers again before making its slots). An active slot is never dropped: its owner
 * is alive whatever its heartbeat says.
 *
 * An instance that finds its own row gone was taken for dead (it was away longer than the
 * expiry): its slots may be gone, so the step reports itself lost and the connector starts
 * over, making fresh slots. Its clients then resume if their positions lie inside the new
 * window, else start afresh, as after any restart behind the window.
 */
import type { WriteMode } from "../config/mod.ts";
import { delay } from "../lifecycle/mod.ts";
import type { Logger } from "../telemetry/mod.ts";
import type { ConnectorStep, StepResource } from "./connector.ts";
import type { InstanceNames } from "./naming.ts";
import type { Sql } from "./pg_client.ts";

/** First key of the two-key advisory locks taken per slot set while it is reaped. */
export const REAP_LOCK_KEY = 7_465_113;

export interface InstanceRegistryOptions {
  names: InstanceNames;
  /** ELECTRIC_INSTANCE_ID, or the random id of this start. */
  instanceId: string;
  writeMode: WriteMode;
  /** ELECTRIC_INSTANCE_EXPIRY in ms. */
  expiryMs: number;
  logger: Logger;
  /** Between heartbeats (and looks for expired instances); default `heartbeatInterval`. */
  heartbeatMs?: number;
}

/** A quarter of the expiry, between 250 ms and 10 s: several heartbeats fit in any expiry. */
export function heartbeatInterval(expiryMs: number): number {
  return Math.min(10_000, Math.max(250, Math.floor(expiryMs / 4)));
}

/** Inserts or refreshes this instance's row. */
export async function registerInstance(
  sql: Sql,
  options: Pick<InstanceRegistryOptions, "names" | "instanceId" | "writeMode">,
): Promise<void> {
  const { names } = options;
  const subscription = options.writeMode === "logical_replication" ? names.subscription : null;
  await sql`
    INSERT INTO electric.instances
      (main_slot, instance_id, live_slot, subscription, write_mode, started_at, last_seen)
    VALUES (${names.mainSlot}, ${options.instanceId}, ${names.liveSlot}, ${subscription},
            ${options.writeMode}, now(), now())
    ON CONFLICT (main_slot) DO UPDATE
      SET instance_id = excluded.instance_id, live_slot = excluded.live_slot,
          subscription = excluded.subscription, write_mode = excluded.write_mode,
          started_at = excluded.started_at, last_seen = excluded.last_seen`;
}

/** Refreshes the heartbeat; false when the row is gone (this instance was taken for dead). */
export async function heartbeat(sql: Sql, mainSlot: string): Promise<boolean> {
  const rows = await sql`
    UPDATE electric.instances SET last_seen = now() WHERE main_slot = ${mainSlot}
    RETURNING 1`;
  return rows.length > 0;
}

export interface ExpiredInstance {
  mainSlot: string;
  instanceId: string;
  liveSlot: string;
  subscription: string | null;
  /** Seconds since its last heartbeat. */
  silentSeconds: number;
}

/** Other instances whose last heartbeat is older than `expiryMs`. */
export async function expiredInstances(
  sql: Sql,
  options: { expiryMs: number; ownMainSlot: string },
): Promise<ExpiredInstance[]> {
  const rows = await sql`
    SELECT main_slot, instance_id, live_slot, subscription,
           extract(epoch FROM now() - last_seen)::float8 AS silent
      FROM electric.instances
     WHERE main_slot <> ${options.ownMainSlot}
       AND last_seen < now() - make_interval(secs => ${options.expiryMs / 1000})`;
  return rows.map((row) => ({
    mainSlot: String(row.main_slot),
    instanceId: String(row.instance_id),
    liveSlot: String(row.live_slot),
    subscription: row.subscription === null ? null : String(row.subscription),
    silentSeconds: Math.round(Number(row.silent)),
  }));
}

export interface ReapOutcome {
  /** Slots dropped, with the WAL each held back (bytes behind the current WAL position). */
  dropped: { slot: string; lagBytes: bigint | undefined }[];
  subscriptionDropped: boolean;
  /** Why nothing was done: another instance holds the lock, it came back, a slot is active. */
  skipped?: "locked" | "returned" | "active";
}

function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** Drops what an expired instance left behind (see the module header); idempotent. */
export async function reapInstance(
  sql: Sql,
  expired: ExpiredInstance,
  options: { expiryMs: number },
): Promise<ReapOutcome> {
  return await sql.begin(async (tx) => {
    const outcome: ReapOutcome = { dropped: [], subscriptionDropped: false };
    const [lock] = await tx`
      SELECT pg_try_advisory_xact_lock(${REAP_LOCK_KEY}, hashtext(${expired.mainSlot})) AS ok`;
    if (!lock.ok) return { ...outcome, skipped: "locked" as const };
    const [still] = await tx`
      SELECT 1 FROM electric.instances
       WHERE main_slot = ${expired.mainSlot}
         AND last_seen < now() - make_interval(secs => ${options.expiryMs / 1000})
       FOR UPDATE`;
    if (!still) return { ...outcome, skipped: "returned" as const };
    const slots = await tx`
      SELECT slot_name, active,
             pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::text AS lag
        FROM pg_replication_slots
       WHERE slot_name IN (${expired.mainSlot}, ${expired.liveSlot})`;
    if (slots.some((slot) => slot.active)) return { ...outcome, skipped: "active" as const };
    for (const slot of slots) {
      await tx`SELECT pg_drop_replication_slot(${slot.slot_name})`;
      const lag = slot.lag === null ? undefined : BigInt(String(slot.lag).split(".")[0]);
      outcome.dropped.push({ slot: String(slot.slot_name), lagBytes: lag });
    }
    if (expired.subscription) {
      const [exists] = await tx`
        SELECT 1 FROM pg_subscription
         WHERE subname = ${expired.subscription}
           AND subdbid = (SELECT oid FROM pg_database WHERE datname = current_database())`;
      if (exists) {
        const name = quoteIdent(expired.subscription);
        await tx.unsafe(`ALTER SUBSCRIPTION ${name} DISABLE`);
        await tx.unsafe(`ALTER SUBSCRIPTION ${name} SET (slot_name = NONE)`);
        await tx.unsafe(`DROP SUBSCRIPTION ${name}`);
        outcome.subscriptionDropped = true;
      }
    }
    await tx`DELETE FROM electric.replication_positions WHERE slot_name = ${expired.mainSlot}`;
    await tx`DELETE FROM electric.instances WHERE main_slot = ${expired.mainSlot}`;
    return outcome;
  }) as ReapOutcome;
}

function describeLag(bytes: bigint | undefined): string {
  if (bytes === undefined) return "no WAL";
  return `${bytes} bytes (${(Number(bytes) / (1024 * 1024)).toFixed(1)} MiB) of WAL`;
}

/** One look for expired instances, reaping each; returns how many were reaped. */
export async function reapExpired(
  sql: Sql,
  options: Pick<InstanceRegistryOptions, "names" | "expiryMs" | "logger">,
): Promise<number> {
  const expired = await expiredInstances(sql, {
    expiryMs: options.expiryMs,
    ownMainSlot: options.names.mainSlot,
  });
  let reaped = 0;
  for (const instance of expired) {
    const outcome = await reapInstance(sql, instance, options);
    if (outcome.skipped === "active") {
      options.logger.warning(
        `Instance "${instance.instanceId}" has sent no heartbeat for ${instance.silentSeconds} s ` +
          `but its replication slot "${instance.liveSlot}" is in use; its slots are kept.`,
      );
    }
    if (outcome.skipped) continue;
    reaped++;
    for (const { slot, lagBytes } of outcome.dropped) {
      options.logger.warning(
        `Dropped replication slot "${slot}" of instance "${instance.instanceId}", gone for ` +
          `${instance.silentSeconds} s (over ELECTRIC_INSTANCE_EXPIRY): it held back ${
            describeLag(lagBytes)
          }.`,
      );
    }
    if (outcome.subscriptionDropped) {
      options.logger.warning(
        `Dropped subscription "${instance.subscription}" of instance "${instance.instanceId}".`,
      );
    }
  }
  return reaped;
}

/**
 * A connector step, before replication: registers the instance, then keeps its heartbeat and
 * reaps expired instances every `heartbeatMs`. Its resource is lost when this instance's row
 * was reaped meanwhile (the connector then starts over with fresh slots).
 */
export function instanceStep(options: InstanceRegistryOptions): ConnectorStep {
  const interval = options.heartbeatMs ?? heartbeatInterval(options.expiryMs);
  return {
    name: "instance registry",
    state: "establishing_repl_conn",
    async run({ sql }): Promise<StepResource> {
      await registerInstance(sql, options);
      const stop = new AbortController();
      let lose!: () => void;
      const lost = new Promise<void>((resolve) => lose = resolve);
      const loop = (async () => {
        while (!stop.signal.aborted) {
          await delay(interval, stop.signal);
          if (stop.signal.aborted) break;
          try {
            if (!await heartbeat(sql, options.names.mainSlot)) {
              options.logger.warning(
                `This instance was taken for dead (no heartbeat for over ELECTRIC_INSTANCE_EXPIRY) ` +
                  `and its replication slots may have been dropped; starting afresh.`,
              );
              lose();
              return;
            }
            await reapExpired(sql, options);
          } catch (error) {
            // The connector's health check notices a lost connection; this only retries.
            options.logger.warning(
              `Instance heartbeat failed: ${(error as Error)?.message ?? error}`,
            );
          }
        }
      })();
      return {
        lost,
        async close() {
          stop.abort();
          await loop;
        },
      };
    },
  };
}
