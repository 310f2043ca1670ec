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
 * Copies `source` to the temporary slot `target`, owned by `repl`'s session, and returns the
 * position streaming starts from. A session that still holds `target` (a dying connection of
 * ours, or another instance) is waited for until `busyTimeoutMs`, then reported.
 */
export async function copyToTemporarySlot(
  repl: Sql,
  slots: { source: string; target: string },
  options: { busyTimeoutMs: number; signal?: AbortSignal },
): Promise<bigint> {
  const deadline = Date.now() + options.busyTimeoutMs;
  for (;;) {
    try {
      const [row] = await repl.unsafe(
        `SELECT lsn::text AS lsn FROM pg_copy_logical_replication_slot(` +
          `${literal(slots.source)}, ${literal(slots.target)}, true)`,
      );
      const lsn = parseLsn(String(row?.lsn ?? ""));
      if (lsn === undefined) throw new Error(`Copying slot "${slots.source}" returned no LSN`);
      return lsn;
    } catch (error) {
      const state = sqlState(error);
      if (state === SQLSTATE.undefinedObject) {
        throw new ReplicationError(
          "SLOT_NOT_FOUND",
          `Replication slot "${slots.source}" does not exist`,
          { cause: error },
        );
      }
      if (state !== SQLSTATE.duplicateObject && state !== SQLSTATE.objectInUse) throw error;
      if (Date.now() >= deadline || options.signal?.aborted) {
        throw new ReplicationError(
          "ANOTHER_INSTANCE_CONNECTED",
          "Another instance of Electric appears to be connected to this database: " +
            `replication slot "${slots.target}" is in use`,
          { cause: error },
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
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

/** The processed position persisted for `slot`, if any. */
export async function readProcessedLsn(sql: Sql, slot: string): Promise<bigint | undefined> {
  const [row] = await sql`
    SELECT processed_lsn::text AS lsn FROM electric.replication_positions
     WHERE slot_name = ${slot}`;
  return row ? parseLsn(String(row.lsn)) : undefined;
}

/** Persists `lsn` as processed for `slot`; never moves it backwards. */
export async function writeProcessedLsn(sql: Sql, slot: string, lsn: bigint): Promise<void> {
  await sql`
    INSERT INTO electric.replication_positions AS p (slot_name, processed_lsn, updated_at)
    VALUES (${slot}, ${formatLsn(lsn)}::pg_lsn, now())
    ON CONFLICT (slot_name) DO UPDATE
      SET processed_lsn = GREATEST(p.processed_lsn, excluded.processed_lsn),
          updated_at = excluded.updated_at`;
}

export interface SlotPosition {
  confirmedFlushLsn: bigint | undefined;
  restartLsn: bigint | undefined;
  active: boolean;
}

export async function readSlot(sql: Sql, slot: string): Promise<SlotPosition | undefined> {
  const [row] = await sql`
    SELECT confirmed_flush_lsn::text AS confirmed, restart_lsn::text AS restart, active
      FROM pg_replication_slots WHERE slot_name = ${slot}`;
  if (!row) return undefined;
  return {
    confirmedFlushLsn: row.confirmed ? parseLsn(String(row.confirmed)) : undefined,
    restartLsn: row.restart ? parseLsn(String(row.restart)) : undefined,
    active: row.active === true,
  };
}
