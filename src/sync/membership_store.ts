/**
 * Durable membership of graph groups: for each group, which row keys it held over which
 * stretch of the stream, as intervals `[added_lsn, removed_lsn)` (`electric.shape_group_rows`).
 * What a client held at position p is then "added ≤ p < removed", so a client resuming after a
 * restart is told exactly which rows to drop, whatever happened since. Rows are written
 * incrementally (only keys that changed), batched across groups and transactions with at most
 * one write in flight, and before any client is sent the change (write-ahead: `durable`).
 *
 * Several instances keep the same groups (each follows the whole stream, at its own pace), so
 * writes are idempotent across them: an interval is not opened where one already holds the key
 * at that position, and a close only ends intervals opened before it — an instance that lags
 * neither reopens what a faster one recorded as gone nor ends what that one opened since.
 *
 * LSNs of changes made between transactions (initial data, move-in data) are "the position
 * before the next transaction, plus one": a client stopped exactly there is treated as not
 * having them, which at worst resends rows.
 */
import { createHash } from "node:crypto";
import type { RowKey } from "../shapes/mod.ts";
import type { Sql } from "../storage/mod.ts";

export interface GroupMembershipLog {
  /** The group's id (stable across restarts for the same key). */
  readonly groupId: number;
  /** Records held-key changes at `lsn`; `durable(lsn)` resolves once they are stored. */
  record(lsn: bigint, added: readonly RowKey[], removed: readonly RowKey[]): void;
  /** Resolves when every change recorded at or before `lsn` is stored. */
  durable(lsn: bigint): Promise<void>;
  /** Keys held now according to storage (after a restart: what the last life left open). */
  openKeys(): Promise<Set<RowKey>>;
  /** Keys whose interval starts or ends after `lsn` (what a client at `lsn` may have missed). */
  changedAfter(lsn: bigint): Promise<{ added: Set<RowKey>; removed: Set<RowKey> }>;
}

export interface MembershipStore {
  /** The log of the group with canonical key `key`, creating the group on first use. */
  open(key: string): Promise<GroupMembershipLog>;
  /** Drops intervals that ended at or before `lsn` (no client can resume from before it). */
  compact(lsn: bigint): Promise<void>;
}

interface Interval {
  key: RowKey;
  added: bigint;
  removed: bigint | null;
}

/** Pending changes of one group, folded per key in order. */
class PendingChanges {
  /** Closes of intervals already stored, by key. */
  readonly closes = new Map<RowKey, bigint>();
  /** Intervals opened since the last flush (closed again if removed meanwhile). */
  readonly opens = new Map<RowKey, Interval[]>();
  upTo = -1n;

  record(lsn: bigint, added: readonly RowKey[], removed: readonly RowKey[]): void {
    for (const key of removed) {
      const opened = this.opens.get(key)?.at(-1);
      if (opened && opened.removed === null) opened.removed = lsn;
      else if (!this.closes.has(key)) this.closes.set(key, lsn);
    }
    for (const key of added) {
      if (!this.opens.has(key)) this.opens.set(key, []);
      this.opens.get(key)!.push({ key, added: lsn, removed: null });
    }
    if (lsn > this.upTo) this.upTo = lsn;
  }

  get empty(): boolean {
    return this.closes.size === 0 && this.opens.size === 0;
  }

  intervals(): Interval[] {
    return [...this.opens.values()].flat();
  }
}

type Writer = (
  groupId: number,
  closes: Map<RowKey, bigint>,
  opens: Interval[],
) => Promise<void>;

/** Coalesces records into one write at a time; tracks what is durable. */
class BufferedLog implements GroupMembershipLog {
  #pending = new PendingChanges();
  #flushing: Promise<void> | undefined;
  #durableUpTo = -1n;
  #waiters: { lsn: bigint; resolve: () => void; reject: (e: unknown) => void }[] = [];
  #failure: unknown;

  constructor(
    readonly groupId: number,
    readonly write: Writer,
    readonly read: {
      openKeys: () => Promise<Set<RowKey>>;
      changedAfter: (lsn: bigint) => Promise<{ added: Set<RowKey>; removed: Set<RowKey> }>;
    },
  ) {}

  record(lsn: bigint, added: readonly RowKey[], removed: readonly RowKey[]): void {
    if (added.length === 0 && removed.length === 0) return;
    this.#pending.record(lsn, added, removed);
    this.#kick();
  }

  durable(lsn: bigint): Promise<void> {
    if (this.#failure) return Promise.reject(this.#failure);
    if (lsn <= this.#durableUpTo || (this.#pending.empty && !this.#flushing)) {
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => this.#waiters.push({ lsn, resolve, reject }));
  }

  openKeys(): Promise<Set<RowKey>> {
    return this.read.openKeys();
  }

  changedAfter(lsn: bigint): Promise<{ added: Set<RowKey>; removed: Set<RowKey> }> {
    return this.read.changedAfter(lsn);
  }

  #kick(): void {
    if (this.#flushing || this.#pending.empty) return;
    const batch = this.#pending;
    this.#pending = new PendingChanges();
    this.#flushing = this.write(this.groupId, batch.closes, batch.intervals()).then(
      () => {
        this.#flushing = undefined;
        if (batch.upTo > this.#durableUpTo) this.#durableUpTo = batch.upTo;
        this.#settle();
        this.#kick();
      },
      (error) => {
        this.#flushing = undefined;
        this.#failure = error;
        for (const waiter of this.#waiters.splice(0)) waiter.reject(error);
      },
    );
  }

  #settle(): void {
    const idle = this.#pending.empty && !this.#flushing;
    this.#waiters = this.#waiters.filter((waiter) => {
      if (idle || waiter.lsn <= this.#durableUpTo) {
        waiter.resolve();
        return false;
      }
      return true;
    });
  }
}

/** For unit tests: the same semantics, kept in memory. */
export class InMemoryMembershipStore implements MembershipStore {
  readonly groups = new Map<string, { id: number; rows: Interval[] }>();
  /** Number of writes performed (each flush of each group is one). */
  writes = 0;

  open(key: string): Promise<GroupMembershipLog> {
    if (!this.groups.has(key)) this.groups.set(key, { id: this.groups.size + 1, rows: [] });
    const group = this.groups.get(key)!;
    return Promise.resolve(
      new BufferedLog(group.id, async (_id, closes, opens) => {
        await Promise.resolve();
        this.writes++;
        for (const row of group.rows) {
          const at = closes.get(row.key);
          if (at !== undefined && row.removed === null && row.added < at) row.removed = at;
        }
        const held = (key: RowKey, lsn: bigint) =>
          group.rows.some((r) =>
            r.key === key && r.added <= lsn && (r.removed === null || r.removed > lsn)
          );
        group.rows.push(...opens.filter((o) => !held(o.key, o.added)).map((o) => ({ ...o })));
      }, {
        openKeys: () =>
          Promise.resolve(new Set(group.rows.filter((r) => r.removed === null).map((r) => r.key))),
        changedAfter: (lsn) =>
          Promise.resolve({
            added: new Set(group.rows.filter((r) => r.added > lsn).map((r) => r.key)),
            removed: new Set(
              group.rows.filter((r) => r.removed !== null && r.removed > lsn).map((r) => r.key),
            ),
          }),
      }),
    );
  }

  compact(lsn: bigint): Promise<void> {
    for (const group of this.groups.values()) {
      group.rows = group.rows.filter((r) => r.removed === null || r.removed > lsn);
    }
    return Promise.resolve();
  }
}

/** What `electric.shape_groups` stores of a group key: keys hold whole where clauses. */
export function groupKeyDigest(groupKey: string): string {
  return createHash("sha256").update(groupKey).digest("hex");
}

/** Rows per statement: keys travel as array parameters. */
const CHUNK = 20_000;

export class PostgresMembershipStore implements MembershipStore {
  constructor(readonly sql: () => Sql | undefined) {}

  #pool(): Sql {
    const sql = this.sql();
    if (!sql) throw new Error("Postgres is not connected");
    return sql;
  }

  async open(groupKey: string): Promise<GroupMembershipLog> {
    const sql = this.#pool();
    const key = groupKeyDigest(groupKey);
    const [row] = await sql`
      WITH inserted AS (
        INSERT INTO electric.shape_groups (group_key) VALUES (${key})
        ON CONFLICT (group_key) DO NOTHING RETURNING id
      )
      SELECT id FROM inserted UNION ALL
      SELECT id FROM electric.shape_groups WHERE group_key = ${key}
      LIMIT 1`;
    const groupId = Number(row.id);
    return new BufferedLog(groupId, (id, closes, opens) => this.#write(id, closes, opens), {
      openKeys: async () => {
        const rows = await this.#pool()`
          SELECT row_key FROM electric.shape_group_rows
           WHERE group_id = ${groupId} AND removed_lsn IS NULL`;
        return new Set(rows.map((r) => String(r.row_key)));
      },
      changedAfter: async (lsn) => {
        const rows = await this.#pool()`
          SELECT row_key, added_lsn > ${lsn.toString()}::int8 AS added,
                 coalesce(removed_lsn > ${lsn.toString()}::int8, false) AS removed
            FROM electric.shape_group_rows
           WHERE group_id = ${groupId}
             AND (added_lsn > ${lsn.toString()}::int8 OR removed_lsn > ${lsn.toString()}::int8)`;
        const added = new Set<RowKey>();
        const removed = new Set<RowKey>();
        for (const r of rows) {
          if (r.added) added.add(String(r.row_key));
          if (r.removed) removed.add(String(r.row_key));
        }
        return { added, removed };
      },
    });
  }

  async #write(groupId: number, closes: Map<RowKey, bigint>, opens: Interval[]): Promise<void> {
    const sql = this.#pool();
    await sql.begin(async (tx) => {
      const closed = [...closes];
      for (let i = 0; i < closed.length; i += CHUNK) {
        const part = closed.slice(i, i + CHUNK);
        await tx`
          UPDATE electric.shape_group_rows AS r SET removed_lsn = c.lsn
            FROM unnest(${part.map(([k]) => k)}::text[], ${
          part.map(([, l]) => l.toString())
        }::int8[]) AS c(row_key, lsn)
           WHERE r.group_id = ${groupId} AND r.row_key = c.row_key AND r.removed_lsn IS NULL
             AND r.added_lsn < c.lsn`;
      }
      for (let i = 0; i < opens.length; i += CHUNK) {
        const part = opens.slice(i, i + CHUNK);
        await tx`
          INSERT INTO electric.shape_group_rows (group_id, row_key, added_lsn, removed_lsn)
          SELECT ${groupId}, k, a, r
            FROM unnest(${part.map((o) => o.key)}::text[], ${
          part.map((o) => o.added.toString())
        }::int8[], ${part.map((o) => o.removed?.toString() ?? null)}::int8[]) AS t(k, a, r)
           WHERE NOT EXISTS (
             SELECT 1 FROM electric.shape_group_rows AS h
              WHERE h.group_id = ${groupId} AND h.row_key = t.k AND h.added_lsn <= t.a
                AND (h.removed_lsn IS NULL OR h.removed_lsn > t.a))`;
      }
    });
  }

  async compact(lsn: bigint): Promise<void> {
    const sql = this.#pool();
    await sql`
      DELETE FROM electric.shape_group_rows
       WHERE removed_lsn IS NOT NULL AND removed_lsn <= ${lsn.toString()}::int8`;
  }
}
