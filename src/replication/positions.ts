/**
 * Coalesced persistence of the processed position (`electric.replication_positions`). The
 * reader offers every position it has handed on; a write happens at once after a quiet spell
 * and then at most once per interval, always of the newest position, so a burst of thousands
 * of transactions costs a handful of writes. Only a written position is reported back (and
 * then acknowledged to Postgres), so a crash at any moment loses nothing: on restart the live
 * slot streams again everything after the persisted position.
 *
 * `settled` (optional) is awaited before each write: consumers with durable effects of their
 * own (the migration consumer saves schema versions) must be done with what was handed on
 * before it is declared processed, or a crash in between would skip it for good.
 */

/** How long to wait before the next write. Pure. */
export function nextWriteDelay(inputs: {
  now: number;
  lastWriteAt: number;
  intervalMs: number;
}): number {
  return Math.max(0, inputs.lastWriteAt + inputs.intervalMs - inputs.now);
}

/** Whether `handedOn` still needs writing. Pure. */
export function needsWrite(handedOn: bigint | undefined, persisted: bigint | undefined): boolean {
  return handedOn !== undefined && (persisted === undefined || handedOn > persisted);
}

export interface PositionWriterOptions {
  /** At most one write per interval. */
  intervalMs: number;
  /** Persisted by a previous run. */
  persisted?: bigint;
  /**
   * Stores `lsn`; `lastTransaction` is the newest transaction at or before it (none lies
   * between the two), when known.
   */
  write(lsn: bigint, lastTransaction: bigint | undefined): Promise<void>;
  settled?: () => Promise<void>;
  /** Called after each successful write, with the position written. */
  onPersisted(lsn: bigint): void;
  /** A write failed; the writer stops (the stream it belongs to must end). */
  onError(error: unknown): void;
}

export class PositionWriter {
  #o: PositionWriterOptions;
  #handedOn: bigint | undefined;
  #lastTransaction: bigint | undefined;
  #persisted: bigint | undefined;
  #lastWriteAt = -Infinity;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #writing: Promise<void> | undefined;
  #stopped = false;

  constructor(options: PositionWriterOptions) {
    this.#o = options;
    this.#persisted = options.persisted;
  }

  get persisted(): bigint | undefined {
    return this.#persisted;
  }

  /**
   * Everything up to `lsn` has been handed on; `lastTransaction` is the newest transaction
   * handed on, if any.
   */
  offer(lsn: bigint, lastTransaction?: bigint): void {
    if (this.#handedOn !== undefined && lsn <= this.#handedOn) return;
    this.#handedOn = lsn;
    this.#lastTransaction = lastTransaction;
    this.#schedule();
  }

  /**
   * Stops writing. With `flush`, first writes what was handed on and not yet persisted (an
   * orderly stop); without, whatever was not written stays unwritten (as after a crash).
   */
  async stop(options: { flush: boolean }): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#writing;
    if (options.flush && needsWrite(this.#handedOn, this.#persisted)) {
      await this.#write(this.#handedOn!, this.#lastTransaction);
    }
  }

  #schedule(): void {
    if (this.#stopped || this.#timer !== undefined || this.#writing) return;
    if (!needsWrite(this.#handedOn, this.#persisted)) return;
    const delay = nextWriteDelay({
      now: Date.now(),
      lastWriteAt: this.#lastWriteAt,
      intervalMs: this.#o.intervalMs,
    });
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (this.#stopped || !needsWrite(this.#handedOn, this.#persisted)) return;
      this.#writing = this.#write(this.#handedOn!, this.#lastTransaction).then(
        () => {
          this.#writing = undefined;
          this.#schedule();
        },
        (error) => {
          this.#writing = undefined;
          this.#stopped = true;
          this.#o.onError(error);
        },
      );
    }, delay);
  }

  async #write(lsn: bigint, lastTransaction: bigint | undefined): Promise<void> {
    this.#lastWriteAt = Date.now();
    await this.#o.settled?.();
    await this.#o.write(lsn, lastTransaction);
    if (this.#persisted === undefined || lsn > this.#persisted) this.#persisted = lsn;
    this.#o.onPersisted(lsn);
  }
}
