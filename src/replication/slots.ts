/**
 * Replication-slot and position SQL. Commands on the replication connection go through the
 * simple query protocol (walsenders do not speak the extended one), so values are inlined:
 * only slot names the service builds itself and formatted LSNs, quoted as literals anyway.
 */
import { formatLsn, parseLsn } from "../pgwire/mod.ts";
import type { Sql } from "../storage/mod.ts";
import { ReplicationError, SQLSTATE, sqlState } from "./errors.ts";

export const PGOUTPUT_OPTIONS = (publication: string) =>
  `proto_version '1', publication_names ${literal(publication)}, messages 'true'`;

/** A SQL string literal. */
export function literal(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

/** A SQL identifier (replication commands accept quoted identifiers too). */
export function identifier(text: string): string {
  return `"${text.replaceAll('"', '""')}"`;
}

/** Creates the persistent main slot (pgoutput, no snapshot); "already exists" is fine. */
export async function createMainSlot(repl: Sql, slot: string): Promise<{ created: boolean }> {
  try {
    await repl.unsafe(
      `CREATE_REPLICATION_SLOT ${identifier(slot)} LOGICAL pgoutput NOEXPORT_SNAPSHOT`,
    );
    return { created: true };
  } catch (error) {
    if (sqlState(error) === SQLSTATE.duplicateObject) return { created: false };
    throw error;
  }
}

/**
 * The main slot of another instance on this database whose window reaches back furthest (a
 * persistent pgoutput slot registered in `electric.instances`), or undefined when there is none.
 * A new instance's main slot starts as a copy of it, so a client that moves to the new instance
 * resumes from the same window the others keep rather than being reset.
 */
export async function oldestPeerMainSlot(sql: Sql, own: string): Promise<string | undefined> {
  const [row] = await sql<{ slot: string }[]>`
    SELECT s.slot_name AS slot
      FROM pg_replication_slots s
      JOIN electric.instances i ON i.main_slot = s.slot_name
     WHERE s.slot_name <> ${own} AND s.database = current_database() AND NOT s.temporary
       AND s.plugin = 'pgoutput' AND s.confirmed_flush_lsn IS NOT NULL
     ORDER BY s.confirmed_flush_lsn
     LIMIT 1`;
  return row?.slot;
}

/**
 * Creates the main slot `slot` as a copy of `peer` (another instance's main slot), so it keeps
 * the same window. `exists` when `slot` is there already; `peer_gone` when the peer was dropped
 * meanwhile (the caller then creates a fresh slot).
 */
export async function copyMainSlot(
  repl: Sql,
  slots: { peer: string; slot: string },
): Promise<{ kind: "copied"; from: bigint } | { kind: "exists" } | { kind: "peer_gone" }> {
  try {
    const from = await copySlot(repl, { source: slots.peer, target: slots.slot }, {
      temporary: false,
    });
    return { kind: "copied", from };
  } catch (error) {
    if (sqlState(error) === SQLSTATE.duplicateObject) return { kind: "exists" };
    if (error instanceof ReplicationError && error.code === "SLOT_NOT_FOUND") {
      return { kind: "peer_gone" };
    }
    throw error;
  }
}

/**
 * Copies `source` to a new slot `target` (a temporary one belongs to `repl`'s session) and
 * returns the copy's confirmed position. A missing source is SLOT_NOT_FOUND; other failures
 * keep their SQLSTATE (`duplicate_object` when `target` exists).
 */
export async function copySlot(
  repl: Sql,
  slots: { source: string; target: string },
  options: { temporary: boolean },
): Promise<bigint> {
  try {
    const [row] = await repl.unsafe(
      `SELECT lsn::text AS lsn FROM pg_copy_logical_replication_slot(` +
        `${literal(slots.source)}, ${literal(slots.target)}, ${options.temporary})`,
    );
    const lsn = parseLsn(String(row?.lsn ?? ""));
    if (lsn === undefined) throw new Error(`Copying slot "${slots.source}" returned no LSN`);
    return lsn;
  } catch (error) {
    if (sqlState(error) !== SQLSTATE.undefinedObject) throw error;
    throw new ReplicationError(
      "SLOT_NOT_FOUND",
      `Replication slot "${slots.source}" does not exist`,
      { cause: error },
    );
  }
}

/**
 * Moves `slot` forward to `lsn` without handing anything on: `pg_replication_slot_advance`
 * decodes the WAL in between in fast-forward mode (no changes are assembled), several times
 * cheaper than streaming from `lsn` and letting the walsender drop what lies before it.
 *
 * Twice when the first pass moved the slot: the restart point (where decoding resumes) moves
 * only at the running-transactions records Postgres logs every 15 s under write activity, and
 * during the first pass only the first one after the old position counts (the later ones lie
 * past what is confirmed). The second pass starts there with everything confirmed, so it moves
 * the restart point to the last such record before `lsn`, and streaming from the slot has
 * little left to decode.
 */
export async function fastForward(sql: Sql, slot: string, lsn: bigint): Promise<void> {
  const before = await readSlot(sql, slot);
  await advanceSlot(sql, slot, lsn);
  const after = await readSlot(sql, slot);
  if (after?.restartLsn !== undefined && after.restartLsn !== before?.restartLsn) {
    await advanceSlot(sql, slot, lsn);
  }
}

/** One `pg_replication_slot_advance`; returns the slot's new position. */
export async function advanceSlot(sql: Sql, slot: string, lsn: bigint): Promise<bigint> {
  const [row] = await sql.unsafe(
    `SELECT end_lsn::text AS lsn FROM pg_replication_slot_advance(` +
      `${literal(slot)}, ${literal(formatLsn(lsn))}::pg_lsn)`,
  );
  return parseLsn(String(row?.lsn ?? "")) ?? lsn;
}

/** Whether a failure means another session holds the slot (or a temporary slot of that name). */
export function isSlotBusy(error: unknown): boolean {
  const state = sqlState(error);
  return state === SQLSTATE.objectInUse || state === SQLSTATE.duplicateObject;
}

/** What an attempt returns when the slot is held by someone else without failing. */
export const SLOT_BUSY: unique symbol = Symbol("slot busy");

/**
 * Runs `attempt` until it is not busy (returns SLOT_BUSY or fails with "slot busy"): a session
 * that still holds the slot (a dying connection of ours, or another instance) is waited for
 * until `busyTimeoutMs`, then reported as ANOTHER_INSTANCE_CONNECTED naming `slot`.
 */
export async function whileSlotBusy<T>(
  slot: string,
  attempt: () => Promise<T | typeof SLOT_BUSY>,
  options: { busyTimeoutMs: number; signal?: AbortSignal },
): Promise<T> {
  const deadline = Date.now() + options.busyTimeoutMs;
  for (;;) {
    let cause: unknown;
    try {
      const result = await attempt();
      if (result !== SLOT_BUSY) return result;
    } catch (error) {
      if (!isSlotBusy(error)) throw error;
      cause = error;
    }
    if (Date.now() >= deadline || options.signal?.aborted) {
      throw new ReplicationError(
        "ANOTHER_INSTANCE_CONNECTED",
        "Another instance of Electric appears to be connected to this database: " +
          `replication slot "${slot}" is in use`,
        { cause },
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * Copies `source` to the temporary slot `target`, owned by `repl`'s session, and returns the
 * position streaming starts from; waits for a session that still holds `target`.
 */
export function copyToTemporarySlot(
  repl: Sql,
  slots: { source: string; target: string },
  options: { busyTimeoutMs: number; signal?: AbortSignal },
): Promise<bigint> {
  return whileSlotBusy(
    slots.target,
    () => copySlot(repl, slots, { temporary: true }),
    options,
  );
}

/** `START_REPLICATION` for pgoutput; resolves with the CopyBoth stream. */
export async function startReplication(
  repl: Sql,
  options: { slot: string; startLsn: bigint; publication: string },
): Promise<CopyBothStream> {
  const command = `START_REPLICATION SLOT ${identifier(options.slot)} LOGICAL ` +
    `${formatLsn(options.startLsn)} (${PGOUTPUT_OPTIONS(options.publication)})`;
  return await repl.unsafe(command).writable() as unknown as CopyBothStream;
}

/** The Node duplex postgres.js hands out for CopyBoth: CopyData payloads in and out. */
export interface CopyBothStream extends AsyncIterable<Uint8Array> {
  readonly readableLength: number;
  readonly destroyed: boolean;
  /** False once `end()` was called. */
  readonly writable: boolean;
  write(chunk: Uint8Array, callback?: (error?: Error | null) => void): boolean;
  end(): void;
  destroy(error?: Error): void;
  pause(): void;
  resume(): void;
  once(event: "close" | "end", listener: () => void): void;
  once(event: "error", listener: (error: Error) => void): void;
  on(event: "data", listener: (chunk: Uint8Array) => void): void;
  on(event: "error", listener: (error: Error) => void): void;
  on(event: "close", listener: () => void): void;
  off(event: "data", listener: (chunk: Uint8Array) => void): void;
}

export interface PersistedPosition {
  /** Every transaction at or before it was handed on. */
  processed: bigint;
  /** The newest transaction at or before `processed`: none lies between the two. */
  lastTransaction: bigint | undefined;
}

/** The processed position persisted for `slot`, if any. */
export async function readProcessedLsn(sql: Sql, slot: string): Promise<bigint | undefined> {
  return (await readPersistedPosition(sql, slot))?.processed;
}

export async function readPersistedPosition(
  sql: Sql,
  slot: string,
): Promise<PersistedPosition | undefined> {
  const [row] = await sql`
    SELECT processed_lsn::text AS lsn, last_transaction_lsn::text AS last
      FROM electric.replication_positions WHERE slot_name = ${slot}`;
  const processed = row ? parseLsn(String(row.lsn)) : undefined;
  if (processed === undefined) return undefined;
  const last = row.last ? parseLsn(String(row.last)) : undefined;
  return { processed, lastTransaction: last !== undefined && last <= processed ? last : undefined };
}

/**
 * Persists `lsn` as processed for `slot` (never backwards), with the newest transaction at or
 * before it when known.
 */
export async function writeProcessedLsn(
  sql: Sql,
  slot: string,
  lsn: bigint,
  lastTransaction?: bigint,
): Promise<void> {
  const last = lastTransaction === undefined ? null : formatLsn(lastTransaction);
  await sql`
    INSERT INTO electric.replication_positions AS p
      (slot_name, processed_lsn, last_transaction_lsn, updated_at)
    VALUES (${slot}, ${formatLsn(lsn)}::pg_lsn, ${last}::pg_lsn, now())
    ON CONFLICT (slot_name) DO UPDATE
      SET last_transaction_lsn = CASE
            WHEN excluded.processed_lsn >= p.processed_lsn THEN excluded.last_transaction_lsn
            ELSE p.last_transaction_lsn END,
          processed_lsn = GREATEST(p.processed_lsn, excluded.processed_lsn),
          updated_at = excluded.updated_at`;
}

export interface SlotPosition {
  confirmedFlushLsn: bigint | undefined;
  restartLsn: bigint | undefined;
  active: boolean;
}

/** A slot's positions; works on the replication connection too (simple protocol). */
export async function readSlot(sql: Sql, slot: string): Promise<SlotPosition | undefined> {
  const [row] = await sql.unsafe(
    `SELECT confirmed_flush_lsn::text AS confirmed, restart_lsn::text AS restart, ` +
      `active::text AS active FROM pg_replication_slots WHERE slot_name = ${literal(slot)}`,
  );
  if (!row) return undefined;
  return {
    confirmedFlushLsn: row.confirmed ? parseLsn(String(row.confirmed)) : undefined,
    restartLsn: row.restart ? parseLsn(String(row.restart)) : undefined,
    active: row.active === "true",
  };
}
