/**
 * Reads that line up exactly with the transaction stream (postgres-side.md §9.2). A REPEATABLE
 * READ snapshot is opened and its visibility recorded (`xmin:xmax:xip`); a "magic write" on
 * another connection then guarantees that a transaction invisible to the snapshot appears in
 * the stream. Data read in the snapshot belongs right before the *insertion point*: the first
 * transaction after `base` (the log's end when the read was requested, all of it committed and
 * so visible) that the snapshot does not see. Every transaction before that point is reflected
 * in the data; none after it is.
 *
 * Consumers that pass a read's `base` must not act on a later transaction before `info` is
 * known; `isInsertionPoint` then tells them where the read's data goes.
 */
import type { Limiter } from "../lifecycle/mod.ts";
import { connectionLost, type Sql } from "../storage/mod.ts";

/** Which transactions a snapshot sees (32-bit xids, as pgoutput reports them). */
export interface SnapshotInfo {
  xmin: number;
  xmax: number;
  xip: ReadonlySet<number>;
}

/** Pure: whether 32-bit xid `a` precedes `b`, with wraparound. */
export function xidPrecedes(a: number, b: number): boolean {
  return ((a - b) | 0) < 0;
}

/** Pure: whether a transaction with `xid` had committed when the snapshot was taken. */
export function visibleIn(info: SnapshotInfo, xid: number): boolean {
  if (xidPrecedes(xid, info.xmin)) return true;
  return xidPrecedes(xid, info.xmax) && !info.xip.has(xid);
}

/** Pure: `pg_current_snapshot()` text (`xmin:xmax:xip,…`, 64-bit) → 32-bit visibility. */
export function parseSnapshot(text: string): SnapshotInfo {
  const [xmin, xmax, xip] = text.split(":");
  const low = (value: string) => Number(BigInt(value) & 0xffffffffn);
  return {
    xmin: low(xmin),
    xmax: low(xmax),
    xip: new Set(xip ? xip.split(",").filter((x) => x !== "").map(low) : []),
  };
}

/** Runs the magic write that forces a transaction invisible to every open snapshot. */
export async function magicWrite(sql: Sql, causedBy: string): Promise<void> {
  await sql`
    UPDATE electric.transaction_marker
       SET content = jsonb_build_object('xid', pg_current_xact_id()::text, 'caused_by', ${causedBy}::text)
     WHERE id = 'magic write'`;
}

/** A read whose data belongs at an insertion point of the stream. */
export interface ConsistentRead<T> {
  readonly base: bigint;
  readonly info: Promise<SnapshotInfo>;
  readonly result: Promise<T>;
  isInsertionPoint(tx: { lsn: bigint; xid: number }): boolean;
}

/** The same snapshot and insertion point with other data (part of what a read produced). */
export function sameSnapshot<T>(read: ConsistentRead<unknown>, result: Promise<T>) {
  result.catch(() => {});
  return {
    base: read.base,
    info: read.info,
    result,
    isInsertionPoint: (tx: { lsn: bigint; xid: number }) => read.isInsertionPoint(tx),
  } satisfies ConsistentRead<T>;
}

export class SnapshotRead<T> implements ConsistentRead<T> {
  /** Stream position when the read was requested: everything up to it is in the snapshot. */
  readonly base: bigint;
  readonly info: Promise<SnapshotInfo>;
  /** The data; rejects when the read failed (then `info` settles too). */
  readonly result: Promise<T>;
  #info: SnapshotInfo | undefined;

  /**
   * Starts the read at once. `read` runs inside the snapshot, after the magic write; it may
   * wait for the stream (e.g. for a group to reach the insertion point) while holding it.
   */
  constructor(
    options: { sql: Sql; base: bigint; causedBy: string; limiter?: Limiter },
    read: (snapshot: Sql, info: SnapshotInfo) => Promise<T>,
  ) {
    this.base = options.base;
    let known!: (info: SnapshotInfo) => void;
    let failed!: (error: unknown) => void;
    this.info = new Promise<SnapshotInfo>((resolve, reject) => {
      known = resolve;
      failed = reject;
    });
    this.info.catch(() => {});
    const run = () =>
      readInSnapshot(options.sql, options.causedBy, (info) => {
        this.#info = info;
        known(info);
      }, read);
    this.result = options.limiter ? options.limiter.run(run) : run();
    this.result.catch((error) => failed(error));
  }

  /** The visibility, once known. */
  get known(): SnapshotInfo | undefined {
    return this.#info;
  }

  /** Whether the read's data belongs right before `tx` (call only after `info` resolved). */
  isInsertionPoint(tx: { lsn: bigint; xid: number }): boolean {
    if (tx.lsn <= this.base) return false;
    return this.#info !== undefined && !visibleIn(this.#info, tx.xid);
  }
}

async function readInSnapshot<T>(
  sql: Sql,
  causedBy: string,
  onInfo: (info: SnapshotInfo) => void,
  read: (snapshot: Sql, info: SnapshotInfo) => Promise<T>,
): Promise<T> {
  const reserved = await sql.reserve();
  // A reserved connection that closed is neither queried nor released: postgres.js would never
  // settle a query on it, and the pool has already taken it back.
  let lost = false;
  const noting = (error: unknown) => {
    lost ||= connectionLost(error);
    throw error;
  };
  try {
    await reserved`BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY`.catch(noting);
    try {
      const [row] = await reserved`SELECT pg_current_snapshot()::text AS snapshot`.catch(noting);
      const info = parseSnapshot(String(row.snapshot));
      onInfo(info);
      // Snapshot first, then the write: the write's xid is then invisible to it for certain.
      await magicWrite(sql, causedBy);
      return await read(reserved as unknown as Sql, info).catch(noting);
    } finally {
      if (!lost) await reserved`COMMIT`.catch(noting).catch(() => {});
    }
  } finally {
    if (!lost) reserved.release();
  }
}
