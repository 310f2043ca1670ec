/**
 * Reads that line up exactly with the transaction stream (postgres-side.md §9.2). A REPEATABLE
 * READ snapshot is opened and its visibility recorded (`xmin:xmax:xip`); a "magic write" on
 * another connection then guarantees that a transaction invisible to the snapshot appears in
 * the stream. Data read in the snapshot belongs right before the *insertion point*: the first
 * transaction after `base` (the log's end when the read was requested) that the snapshot does
 * not see. Every transaction before that point is reflected in the data; none after it is.
 *
 * That needs every transaction up to `base` visible to the snapshot, and a streamed one may not
 * be yet: Postgres streams a commit once its record is flushed and shows it to new snapshots a
 * moment later. So the snapshot just opened is checked against the streamed transactions not
 * seen visible yet (`visibility`, visibility.ts; nothing to check, and no round trip, in the
 * common case); while one up to `base` does not show, the snapshot is closed and another one
 * opened a moment later (at most VISIBLE_MS, then said and read anyway). Without the check the
 * data would lack that transaction while the stream counts it as before the read: a row
 * inserted right before a subscription would never reach the client.
 *
 * Consumers that pass a read's `base` must not act on a later transaction before `info` is
 * known; `isInsertionPoint` then tells them where the read's data goes.
 */
import { delay, type Limiter } from "../lifecycle/mod.ts";
import { connectionLost, type Sql } from "../storage/mod.ts";
import { parseSnapshot, type SnapshotInfo, type Visibility, visibleIn } from "./visibility.ts";

export type { SnapshotInfo };

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
   * Without `visibility` every transaction up to `base` is taken as visible (tests).
   */
  constructor(
    options: {
      sql: Sql;
      base: bigint;
      causedBy: string;
      limiter?: Limiter;
      visibility?: Visibility;
    },
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
      readInSnapshot(options, (info) => {
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
  options: { sql: Sql; base: bigint; causedBy: string; visibility?: Visibility },
  onInfo: (info: SnapshotInfo) => void,
  read: (snapshot: Sql, info: SnapshotInfo) => Promise<T>,
): Promise<T> {
  const { sql, causedBy } = options;
  // Taken before the snapshot: what is let go of by then was shown to an earlier snapshot.
  const expected = options.visibility?.expect(options.base, `Snapshot read (${causedBy})`);
  const reserved = await sql.reserve();
  // A reserved connection that closed is neither queried nor released: postgres.js would never
  // settle a query on it, and the pool has already taken it back.
  let lost = false;
  const noting = (error: unknown) => {
    lost ||= connectionLost(error);
    throw error;
  };
  const open = async () => {
    await reserved`BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY`.catch(noting);
    const [row] = await reserved`SELECT pg_current_snapshot()::text AS snapshot`.catch(noting);
    return parseSnapshot(String(row.snapshot));
  };
  try {
    let info = await open();
    // A transaction up to `base` it does not show yet: look again in a new one, a moment later.
    for (let wait = expected?.retryAfter(info); wait !== undefined;) {
      await reserved`COMMIT`.catch(noting);
      await delay(wait);
      info = await open();
      wait = expected!.retryAfter(info);
    }
    onInfo(info);
    // Snapshot first, then the write: the write's xid is then invisible to it for certain.
    await magicWrite(sql, causedBy);
    return await read(reserved as unknown as Sql, info).catch(noting);
  } finally {
    if (!lost) await reserved`COMMIT`.catch(noting).catch(() => {});
    if (!lost) reserved.release();
  }
}
