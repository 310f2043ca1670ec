/**
 * Progress of long work as log lines: how far it got and how fast, at most one line every
 * `everyMs`, and a closing line only when the work took long enough to have reported progress
 * (a quick job stays silent, so the log does not fill with one line per small subscription).
 */
import type { Logger, LogMeta } from "./logger.ts";

export interface ProgressOptions {
  /** Minimum time between two lines; default 5 s. */
  everyMs?: number;
  now?: () => number;
  meta?: LogMeta;
}

export class Progress {
  readonly #logger: Logger;
  readonly #what: string;
  readonly #unit: string;
  readonly #everyMs: number;
  readonly #now: () => number;
  readonly #meta: LogMeta | undefined;
  readonly #startedAt: number;
  #lastLineAt: number;
  #count = 0;
  #reported = false;

  /** `what` names the work ("Initial sync of subscription 3"); `unit` what is counted ("rows"). */
  constructor(logger: Logger, what: string, unit: string, options: ProgressOptions = {}) {
    this.#logger = logger;
    this.#what = what;
    this.#unit = unit;
    this.#everyMs = options.everyMs ?? 5_000;
    this.#now = options.now ?? Date.now;
    this.#meta = options.meta;
    this.#startedAt = this.#lastLineAt = this.#now();
  }

  get count(): number {
    return this.#count;
  }

  /** Counts `n` more done; logs a line when one is due. */
  add(n: number, detail?: string): void {
    this.#count += n;
    const now = this.#now();
    if (now - this.#lastLineAt < this.#everyMs) return;
    this.#lastLineAt = now;
    this.#reported = true;
    const suffix = detail ? `; ${detail}` : "";
    this.#logger.info(
      `${this.#what}: ${this.#count} ${this.#unit} so far (${
        this.#rate(now)
      } ${this.#unit}/s${suffix}).`,
      this.#meta,
    );
  }

  /** The work ended; says so if progress lines were printed. */
  done(outcome = "done"): void {
    if (!this.#reported) return;
    const now = this.#now();
    const seconds = ((now - this.#startedAt) / 1000).toFixed(1);
    this.#logger.info(
      `${this.#what}: ${outcome}, ${this.#count} ${this.#unit} in ${seconds} s (${
        this.#rate(now)
      } ${this.#unit}/s).`,
      this.#meta,
    );
  }

  #rate(now: number): number {
    const seconds = (now - this.#startedAt) / 1000;
    return seconds > 0 ? Math.round(this.#count / seconds) : this.#count;
  }
}
