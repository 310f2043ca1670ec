/**
 * Keeps the read path's durable state bounded: clients whose acknowledged position fell behind
 * the resumable WAL window can never resume, so what is kept for them goes; membership
 * intervals that ended before the oldest position any remaining client can resume from are
 * compacted away; groups left with no rows and no running instance are dropped. Runs in the
 * background, a few statements per round.
 */
import { delay, type Service } from "../lifecycle/mod.ts";
import type { Sql } from "../storage/mod.ts";
import type { Logger } from "../telemetry/mod.ts";
import type { ShapeHub } from "./hub.ts";

export interface MaintenanceOptions {
  sql: () => Sql | undefined;
  hub: ShapeHub;
  /** The oldest position a client can still resume from (the retained WAL's start). */
  windowStart: () => Promise<bigint | undefined>;
  logger: Logger;
  /** Default 60 s. */
  intervalMs?: number;
}

/** One round; returns what it removed. */
export async function maintainShapeState(
  options: Omit<MaintenanceOptions, "intervalMs" | "logger">,
): Promise<{ clients: number; intervals: number; groups: number }> {
  const sql = options.sql();
  if (!sql) return { clients: 0, intervals: 0, groups: 0 };
  const start = await options.windowStart();
  let clients = 0;
  if (start !== undefined) {
    const expired = await sql`
      DELETE FROM electric.client_positions WHERE acked_lsn < ${start.toString()}::int8
      RETURNING client_id`;
    const ids = expired.map((r) => String(r.client_id));
    if (ids.length > 0) {
      await sql`DELETE FROM electric.client_subscriptions WHERE client_id = ANY(${ids}::text[])`;
    }
    clients = ids.length;
  }
  // Clients that never acknowledged resume from no earlier than the window's start.
  const [{ oldest, unpositioned }] = await sql`
    SELECT (SELECT min(acked_lsn)::text FROM electric.client_positions) AS oldest,
           EXISTS (SELECT 1 FROM electric.client_subscriptions s
                    WHERE NOT EXISTS (SELECT 1 FROM electric.client_positions p
                                       WHERE p.client_id = s.client_id)) AS unpositioned`;
  let bound = oldest === null ? undefined : BigInt(oldest);
  if (unpositioned || bound === undefined) {
    bound = start === undefined
      ? undefined
      : (bound === undefined || start < bound ? start : bound);
  }
  let intervals = 0;
  if (bound !== undefined) {
    const removed = await sql`
      DELETE FROM electric.shape_group_rows
       WHERE removed_lsn IS NOT NULL AND removed_lsn <= ${bound.toString()}::int8`;
    intervals = removed.count;
  }
  const running = options.hub.runningKeys();
  const empty = await sql`
    SELECT g.id, g.group_key FROM electric.shape_groups g
     WHERE NOT EXISTS (SELECT 1 FROM electric.shape_group_rows r WHERE r.group_id = g.id)`;
  const drop = empty.filter((r) => !running.has(String(r.group_key))).map((r) => Number(r.id));
  if (drop.length > 0) {
    await sql`DELETE FROM electric.shape_groups WHERE id = ANY(${drop}::int8[])`;
  }
  return { clients, intervals, groups: drop.length };
}

export class ShapeStateMaintenance implements Service {
  readonly name = "shape state maintenance";
  readonly #options: MaintenanceOptions;

  constructor(options: MaintenanceOptions) {
    this.#options = options;
  }

  async run(signal: AbortSignal): Promise<void> {
    const { logger, intervalMs = 60_000 } = this.#options;
    while (!signal.aborted) {
      await delay(intervalMs, signal);
      if (signal.aborted) break;
      try {
        const done = await maintainShapeState(this.#options);
        if (done.clients + done.intervals + done.groups > 0) {
          logger.debug(
            `Shape state maintenance: ${done.clients} expired clients, ${done.intervals} ended intervals, ${done.groups} empty groups removed.`,
          );
        }
      } catch (error) {
        logger.warning(`Shape state maintenance failed: ${(error as Error)?.message ?? error}`);
      }
    }
  }
}
