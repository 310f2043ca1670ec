/**
 * Which streamed transactions other sessions may not see yet. Postgres hands a commit to the
 * replication stream once its commit record is flushed and takes it out of the running
 * transactions (shows it to new snapshots) a moment later; under load the service can act on a
 * streamed transaction and read Postgres in between, and that read misses the change it
 * follows. One instance is fed every transaction the log receives (`observe`, subscribed once
 * in main.ts before any other consumer) and readers wait on it:
 * - `visible(sql)`, for plain reads (permissions): resolves once every transaction observed so
 *   far is visible to new snapshots, probing `pg_current_snapshot()` (one probe shared by every
 *   reader waiting meanwhile);
 * - `expect(lsn)`, for reads in a snapshot of their own (snapshot.ts): the snapshot the read
 *   opened is checked against the transactions observed up to `lsn`, with no round trip of its
 *   own; the read opens another one when some do not show yet.
 * Both retry after 2, 4 … 100 ms and give up after VISIBLE_MS with a warning (the read then
 * goes on without the transaction, as it would have without this module). At most MAX_TRACKED
 * transactions not seen visible yet are kept, the oldest let go first.
 *
 * A transaction visible to one snapshot is visible to every later one, so one seen visible is
 * forgotten. What a snapshot shows (`xmin:xmax:xip`) is told by the pure functions below.
 */
import type { Row } from "../replication/mod.ts";
import type { Sql } from "../storage/mod.ts";
import type { Logger } from "../telemetry/mod.ts";

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

/** How long a read waits for a streamed transaction to become visible before going on. */
export const VISIBLE_MS = 10_000;
/** Streamed transactions not seen visible yet, at most (the oldest are let go first). */
const MAX_TRACKED = 10_000;

/** Pure: the wait before looking again, after waiting `previous` ms (0: first). */
export function nextWait(previous: number): number {
  return previous === 0 ? 2 : Math.min(previous * 2, 100);
}

export interface VisibilityOptions {
  logger: Logger;
  /** Default VISIBLE_MS (tests shorten it). */
  giveUpMs?: number;
  /** Default MAX_TRACKED. */
  maxTracked?: number;
}

export class Visibility {
  readonly #o: VisibilityOptions;
  /** Observed transactions no snapshot has shown yet, in stream order: xid → lsn. */
  readonly #unseen = new Map<number, bigint>();
  /** LSN of the last transaction observed. */
  #last = -1n;
  /** The snapshot being looked at now, shared by every reader waiting meanwhile. */
  #probe: Promise<void> | undefined;

  constructor(options: VisibilityOptions) {
    this.#o = options;
  }

  /** Transactions observed and not seen visible yet. */
  get tracked(): number {
    return this.#unseen.size;
  }

  /** One streamed transaction (in stream order, as the log appends them). */
  observe(tx: { xid: number; lsn: bigint }): void {
    if (tx.lsn > this.#last) this.#last = tx.lsn;
    this.#unseen.delete(tx.xid);
    this.#unseen.set(tx.xid, tx.lsn);
    if (this.#unseen.size > (this.#o.maxTracked ?? MAX_TRACKED)) {
      this.#unseen.delete(this.#unseen.keys().next().value!);
    }
  }

  /** Lets go of the tracked transactions a snapshot shows (taken by anyone, at any time). */
  seen(info: SnapshotInfo): void {
    for (const xid of this.#unseen.keys()) if (visibleIn(info, xid)) this.#unseen.delete(xid);
  }

  /**
   * Resolves once the transactions observed so far are visible to new snapshots, or after
   * `giveUpMs` with a warning naming them (`what` is the reader: "Permissions read").
   */
  async visible(sql: Sql, what: string): Promise<void> {
    const upTo = this.#last;
    // Stream order is map order: the first entry is the oldest still unseen.
    const waiting = () => {
      const oldest = this.#unseen.values().next();
      return !oldest.done && oldest.value <= upTo;
    };
    const deadline = Date.now() + this.#giveUpMs;
    for (let wait = nextWait(0); waiting(); wait = nextWait(wait)) {
      await this.#look(sql);
      if (!waiting()) return;
      if (Date.now() >= deadline) {
        const late = [...this.#unseen].filter(([, lsn]) => lsn <= upTo).map(([xid]) => xid);
        this.#late(what, late);
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }

  /**
   * What a snapshot opened from now on must show for a read that follows the stream up to
   * `lsn`: every transaction observed at or before it. Taken before the snapshot is opened (a
   * transaction let go of already was shown to an earlier snapshot, so to this one too).
   */
  expect(lsn: bigint, what: string): Expectation {
    let pending: number[] = [];
    for (const [xid, at] of this.#unseen) {
      if (at > lsn) break;
      pending.push(xid);
    }
    let deadline: number | undefined;
    let wait = 0;
    return {
      get pending() {
        return pending;
      },
      retryAfter: (info) => {
        if (pending.length === 0) return undefined;
        this.seen(info);
        pending = pending.filter((xid) => !visibleIn(info, xid));
        if (pending.length === 0) return undefined;
        const now = Date.now();
        deadline ??= now + this.#giveUpMs;
        if (now >= deadline) {
          this.#late(what, pending);
          pending = [];
          return undefined;
        }
        wait = nextWait(wait);
        return wait;
      },
    };
  }

  get #giveUpMs(): number {
    return this.#o.giveUpMs ?? VISIBLE_MS;
  }

  /** Gives up on `xids`: said once, and no longer waited for by anyone. */
  #late(what: string, xids: readonly number[]): void {
    if (xids.length === 0) return;
    for (const xid of xids) this.#unseen.delete(xid);
    this.#o.logger.warning(
      `${what} without transaction "${xids[0]}" (and ${xids.length - 1} more): ` +
        `streamed and still not visible after ${this.#giveUpMs} ms`,
    );
  }

  /** Takes a snapshot and lets go of the observed transactions it sees. */
  #look(sql: Sql): Promise<void> {
    if (this.#probe) return this.#probe;
    const probe = (async () => {
      const [row] = await sql.unsafe<Row[]>("SELECT pg_current_snapshot()::text AS snapshot");
      this.seen(parseSnapshot(String(row.snapshot)));
    })();
    this.#probe = probe;
    const done = () => {
      if (this.#probe === probe) this.#probe = undefined;
    };
    probe.then(done, done);
    return probe;
  }
}

/** The transactions a read's snapshot must show; see `Visibility.expect`. */
export interface Expectation {
  /** Transactions not shown yet by the snapshots looked at. */
  readonly pending: readonly number[];
  /**
   * Looks at a snapshot just opened: undefined when the read may go on in it (everything
   * shows, or it has waited long enough: then said once), else how many ms to wait before
   * opening another one.
   */
  retryAfter(info: SnapshotInfo): number | undefined;
}
