/**
 * The resumable WAL window (§7.6 of postgres-side.md). The main slot never receives
 * acknowledgements, so it pins WAL; periodically it is advanced to `current WAL - window`,
 * so Postgres keeps about `window` bytes and a restart can re-read that far back. It is never
 * advanced past the persisted processed LSN: what was not handed on yet must stay readable.
 * Slot advance is irreversible. The live slot (live_slot.ts) sits at the processed position,
 * so it never pins WAL the main slot does not pin already.
 */
import { formatLsn, parseLsn } from "../pgwire/mod.ts";
import { delay, type Service } from "../lifecycle/mod.ts";
import type { Sql } from "../storage/mod.ts";
import type { Logger } from "../telemetry/mod.ts";
import { readProcessedLsn, readSlot } from "./slots.ts";

export interface AdvanceInputs {
  currentWalLsn: bigint;
  mainSlotConfirmedLsn: bigint;
  windowBytes: number;
  /** The persisted processed LSN; without one the slot is not advanced. */
  processedLsn: bigint | undefined;
}

/** Where to advance the main slot to, or undefined to leave it. Pure. */
export function mainSlotAdvanceTarget(inputs: AdvanceInputs): bigint | undefined {
  const { currentWalLsn, mainSlotConfirmedLsn, processedLsn } = inputs;
  if (processedLsn === undefined) return undefined;
  let target = currentWalLsn - BigInt(Math.max(0, Math.floor(inputs.windowBytes)));
  if (target > processedLsn) target = processedLsn;
  return target > mainSlotConfirmedLsn ? target : undefined;
}

export interface WalWindowOptions {
  sql: Sql;
  mainSlot: string;
  /** ELECTRIC_RESUMABLE_WAL_WINDOW, bytes. */
  windowBytes: number;
  logger: Logger;
  /** Default 30 s. */
  intervalMs?: number;
  /** WAL the main slot holds back (current WAL − slot position), each time it is read. */
  onRetained?: (bytes: number) => void;
}

/** Advances the main slot once; returns the new position if it moved. */
export async function advanceMainSlot(
  options: Omit<WalWindowOptions, "intervalMs" | "logger">,
): Promise<bigint | undefined> {
  const { sql, mainSlot } = options;
  const slot = await readSlot(sql, mainSlot);
  if (!slot?.confirmedFlushLsn) return undefined;
  const [row] = await sql`SELECT pg_current_wal_lsn()::text AS lsn`;
  const currentWalLsn = parseLsn(String(row.lsn));
  if (currentWalLsn === undefined) return undefined;
  const target = mainSlotAdvanceTarget({
    currentWalLsn,
    mainSlotConfirmedLsn: slot.confirmedFlushLsn,
    windowBytes: options.windowBytes,
    processedLsn: await readProcessedLsn(sql, mainSlot),
  });
  options.onRetained?.(Number(currentWalLsn - (target ?? slot.confirmedFlushLsn)));
  if (target === undefined) return undefined;
  await sql`SELECT pg_replication_slot_advance(${mainSlot}, ${formatLsn(target)}::pg_lsn)`;
  return target;
}

/** Runs `advanceMainSlot` every `intervalMs` until stopped; failures are logged and retried. */
export class WalWindow implements Service {
  readonly name = "wal window";
  #options: WalWindowOptions;

  constructor(options: WalWindowOptions) {
    this.#options = options;
  }

  async run(signal: AbortSignal): Promise<void> {
    const { logger, intervalMs = 30_000 } = this.#options;
    while (!signal.aborted) {
      await delay(intervalMs, signal);
      if (signal.aborted) break;
      try {
        const moved = await advanceMainSlot(this.#options);
        if (moved !== undefined) {
          logger.debug(`Advanced slot "${this.#options.mainSlot}" to "${formatLsn(moved)}".`);
        }
      } catch (error) {
        logger.warning(
          `Failed to advance slot "${this.#options.mainSlot}": ${(error as Error)?.message}`,
        );
      }
    }
  }
}

/**
 * The oldest position a client can still resume from on some instance: where the oldest main
 * slot of the instances sharing the database (`electric.instances`, and `mainSlot`, this
 * instance's) holds WAL from; undefined before any exists. A client behind one instance's
 * window but inside another's keeps its state (it resumes there, or resets where it cannot).
 */
export async function retainedWindowStart(
  sql: Sql,
  mainSlot: string,
): Promise<bigint | undefined> {
  const [row] = await sql<{ lsn: string | null }[]>`
    SELECT min(confirmed_flush_lsn)::text AS lsn FROM pg_replication_slots
     WHERE slot_name = ${mainSlot}
        OR slot_name IN (SELECT main_slot FROM electric.instances)`;
  return row?.lsn ? parseLsn(row.lsn) : undefined;
}
