/**
 * Reading the data of a new subscription so that it lines up exactly with the stream
 * (postgres-side.md §9.2): a REPEATABLE READ snapshot fixes `xmin`; a "magic write" on another
 * connection then guarantees that a transaction with xid >= xmin appears in the stream; the
 * session inserts the data right before the first such transaction. Every transaction before
 * that point is visible to the snapshot, every one after it is not (or is applied twice,
 * harmlessly).
 */
import type { Limiter } from "../../lifecycle/mod.ts";
import type { Sql } from "../../storage/mod.ts";
import { fetchInitialData, type ShapeRow, type SubscriptionPlan } from "../../shapes/mod.ts";

/** Runs the magic write that forces a transaction at or beyond the insertion point. */
export async function magicWrite(sql: Sql, causedBy: string): Promise<void> {
  await sql`
    UPDATE electric.transaction_marker
       SET content = jsonb_build_object('xid', pg_current_xact_id()::text, 'caused_by', ${causedBy}::text)
     WHERE id = 'magic write'`;
}

/**
 * Opens a REPEATABLE READ snapshot, reports its xmin through `onXmin` as soon as it is known,
 * performs the magic write, then runs `read` inside the same snapshot.
 */
export async function readConsistently<T>(
  sql: Sql,
  causedBy: string,
  read: (snapshot: Sql) => Promise<T>,
  onXmin: (xmin: number) => void,
  limiter?: Limiter,
): Promise<T> {
  // Each reader holds a pool connection while it needs another for the magic write; the
  // limiter keeps readers from taking every connection and waiting on each other.
  if (limiter) return await limiter.run(() => readConsistently(sql, causedBy, read, onXmin));
  const reserved = await sql.reserve();
  try {
    await reserved`BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY`;
    try {
      const [row] = await reserved`SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS xmin`;
      onXmin(Number(BigInt(row.xmin) & 0xffffffffn));
      // Snapshot first, then the write: the write's xid is then >= xmin for certain.
      await magicWrite(sql, causedBy);
      return await read(reserved as unknown as Sql);
    } finally {
      await reserved`COMMIT`.catch(() => {});
    }
  } finally {
    reserved.release();
  }
}

export function readSubscriptionData(
  sql: Sql,
  plan: SubscriptionPlan,
  options: { userId: string; onXmin: (xmin: number) => void; limiter?: Limiter },
): Promise<Map<string, ShapeRow[]>> {
  return readConsistently(
    sql,
    `subscription:${plan.subscriptionId}`,
    (snapshot) => fetchInitialData(snapshot, plan, { userId: options.userId }),
    options.onXmin,
    options.limiter,
  );
}

/** Pure: whether 32-bit xid `xid` is at or after `xmin`, with wraparound. */
export function xidAtOrAfter(xid: number, xmin: number): boolean {
  const diff = (xid - xmin) | 0;
  return diff >= 0;
}
