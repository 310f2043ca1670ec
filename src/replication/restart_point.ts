/**
 * Keeps the live slot's restart point close to its confirmed position, so that a start has
 * little WAL to decode before new commits flow.
 *
 * Why this is needed: streaming a logical slot decodes from its restart point, not from its
 * confirmed position, assembling every change in between (the commits before the confirmed
 * position are dropped only once decoded). Postgres moves the restart point only at
 * running-transactions records, which it logs every 15 s under write activity, and it takes
 * a newer record only after the previous one is confirmed. Under heavy writes the restart
 * point so trails by 15–30 s of WAL: measured, 500 MB behind after 1 GB written in 75 s, and a
 * start then spent 7 s decoding it.
 *
 * Two remedies, both with what the service's role already may do (REPLICATION, no superuser):
 * - `RestartPointMarks` makes Postgres log such a record whenever the persisted position has
 *   moved on by `everyBytes`: creating a logical slot logs one before anything else (the slot
 *   is temporary and dropped at once; Postgres 16's pg_log_standby_snapshot() needs
 *   superuser). The live stream decodes the record and the restart point moves up to it once
 *   it is confirmed.
 * - `pullRestartPoint` at a start: advancing the slot to its own confirmed position decodes
 *   from the restart point in fast-forward mode (nothing assembled, several times faster than
 *   streaming) and leaves the restart point at the last such record before that position.
 */
import { formatLsn, parseLsn } from "../pgwire/mod.ts";
import type { Sql } from "../storage/mod.ts";
import type { Logger } from "../telemetry/mod.ts";
import { advanceSlot, identifier, literal, readSlot } from "./slots.ts";
import { SQLSTATE, sqlState } from "./errors.ts";

/** WAL between two marks; the restart point then trails the confirmed one by about twice this. */
export const RESTART_MARK_BYTES = 16n * 1024n * 1024n;
/**
 * Creating the slot waits for the transactions running at the record to end; the record is
 * logged by then, so the wait is cut short.
 */
const MARK_TIMEOUT_MS = 2_000;

export interface RestartPointMarksOptions {
  sql: Sql;
  /** Name of the temporary slot made for each mark. */
  markSlot: string;
  everyBytes?: bigint;
  logger: Logger;
}

export class RestartPointMarks {
  #o: RestartPointMarksOptions;
  #everyBytes: bigint;
  #lastMark: bigint | undefined;
  #running: Promise<void> | undefined;
  #warned = new Set<string>();
  #stopped = false;

  constructor(options: RestartPointMarksOptions) {
    this.#o = options;
    this.#everyBytes = options.everyBytes ?? RESTART_MARK_BYTES;
  }

  /** Called with each persisted position; logs a record when enough WAL went by. */
  offer(persisted: bigint): void {
    if (this.#stopped || this.#running) return;
    if (this.#lastMark === undefined) {
      this.#lastMark = persisted;
      return;
    }
    if (persisted - this.#lastMark < this.#everyBytes) return;
    this.#lastMark = persisted;
    this.#running = this.#mark().then(() => {}).finally(() => this.#running = undefined);
  }

  /**
   * Logs a record now (after the one in flight, if any); resolves with a position at or past
   * it, or undefined when that failed or the wait was cut short.
   */
  async markNow(): Promise<bigint | undefined> {
    await this.#running;
    if (this.#stopped) return undefined;
    const marked = this.#mark();
    this.#running = marked.then(() => {}).finally(() => this.#running = undefined);
    return await marked;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#running;
  }

  async #mark(): Promise<bigint | undefined> {
    const started = Date.now();
    try {
      const lsn = await logRunningTransactions(this.#o.sql, this.#o.markSlot);
      this.#o.logger.debug(`Logged a running-transactions record in ${Date.now() - started} ms.`);
      return lsn;
    } catch (error) {
      if (sqlState(error) === SQLSTATE.queryCanceled) {
        // Our own timeout: the record was logged before the wait.
        this.#o.logger.debug(`Logged a running-transactions record (wait cut short).`);
        return undefined;
      }
      // Not fatal: restarts only decode more. Said once per kind of failure.
      const state = sqlState(error) ?? "unknown";
      if (this.#warned.has(state)) return undefined;
      this.#warned.add(state);
      this.#o.logger.warning(
        `Could not move the live slot's restart point forward (${state}): ` +
          `${(error as Error)?.message ?? error}. A restart may take longer to reach new commits.`,
      );
      return undefined;
    }
  }
}

/**
 * Makes Postgres log a running-transactions record, via a temporary logical slot; returns
 * where that slot started, which is past the record.
 */
export async function logRunningTransactions(sql: Sql, markSlot: string): Promise<bigint> {
  return await sql.begin(async (tx) => {
    await tx.unsafe(`SET LOCAL statement_timeout = ${MARK_TIMEOUT_MS}`);
    const [row] = await tx.unsafe(
      `SELECT lsn::text AS lsn FROM ` +
        `pg_create_logical_replication_slot(${literal(markSlot)}, 'pgoutput', true)`,
    );
    await tx.unsafe(`SELECT pg_drop_replication_slot(${literal(markSlot)})`);
    const lsn = parseLsn(String(row?.lsn ?? ""));
    if (lsn === undefined) throw new Error(`Unexpected slot position "${row?.lsn}"`);
    return lsn;
  });
}

/**
 * Moves the restart point of `slot` up to the last running-transactions record before its
 * confirmed position, when it trails that by more than `minBytes`. Returns how far it moved.
 */
export async function pullRestartPoint(
  sql: Sql,
  slot: string,
  options: { minBytes?: bigint; logger: Logger },
): Promise<bigint> {
  const before = await readSlot(sql, slot);
  const confirmed = before?.confirmedFlushLsn;
  const restart = before?.restartLsn;
  if (confirmed === undefined || restart === undefined) return 0n;
  if (confirmed - restart <= (options.minBytes ?? RESTART_MARK_BYTES)) return 0n;
  const started = Date.now();
  await advanceSlot(sql, slot, confirmed);
  const after = await readSlot(sql, slot);
  const moved = (after?.restartLsn ?? restart) - restart;
  options.logger.info(
    `Moved the restart point of slot ${identifier(slot)} from "${formatLsn(restart)}" to ` +
      `"${formatLsn(after?.restartLsn ?? restart)}" in ${Date.now() - started} ms.`,
  );
  return moved;
}
