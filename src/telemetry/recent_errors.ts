/**
 * The last error lines the service logged, for the status page: a small ring of
 * { time, level, component, message }.
 *
 * It is fed by wrapping the service's logger (`recordErrors`) rather than its output: the
 * wrapper sees the message and the `component` field as given, whatever LOG_FORMAT prints, and
 * leaves where lines go to the logger. Only levels `error` and above are kept; warnings are
 * frequent enough to push real failures out of a ring this small.
 */
import type { Logger, LogLevel, LogMeta } from "./logger.ts";

export interface RecentError {
  /** ISO 8601. */
  readonly time: string;
  readonly level: LogLevel;
  readonly component?: string;
  readonly message: string;
}

/** Longer messages are cut: the page shows a line, the log keeps the whole text. */
const MAX_MESSAGE = 1_000;

export class RecentErrors {
  readonly #ring: (RecentError | undefined)[];
  readonly #now: () => Date;
  #next = 0;

  constructor(options: { capacity?: number; now?: () => Date } = {}) {
    this.#ring = new Array(Math.max(1, options.capacity ?? 20)).fill(undefined);
    this.#now = options.now ?? (() => new Date());
  }

  add(level: LogLevel, message: string, component?: string): void {
    const text = message.length > MAX_MESSAGE ? `${message.slice(0, MAX_MESSAGE)}…` : message;
    this.#ring[this.#next] = { time: this.#now().toISOString(), level, component, message: text };
    this.#next = (this.#next + 1) % this.#ring.length;
  }

  /** Newest first. */
  list(): RecentError[] {
    const oldestFirst = [...this.#ring.slice(this.#next), ...this.#ring.slice(0, this.#next)];
    return oldestFirst.filter((entry): entry is RecentError => entry !== undefined).reverse();
  }
}

/** `logger`, but every message it writes at level error is also added to `errors`. */
export function recordErrors(logger: Logger, errors: RecentErrors): Logger {
  return new RecordingLogger(logger, errors, undefined);
}

/** A class, as the logger is: child loggers (one per client) share the prototype's methods. */
class RecordingLogger implements Logger {
  readonly #inner: Logger;
  readonly #errors: RecentErrors;
  readonly #component: string | undefined;

  constructor(inner: Logger, errors: RecentErrors, component: string | undefined) {
    this.#inner = inner;
    this.#errors = errors;
    this.#component = component;
  }

  error(message: string, meta?: LogMeta): void {
    this.#inner.error(message, meta);
    if (!this.#inner.enabled("error")) return;
    const component = meta?.component ?? this.#component;
    this.#errors.add("error", message, component === undefined ? undefined : String(component));
  }

  warning(message: string, meta?: LogMeta): void {
    this.#inner.warning(message, meta);
  }

  notice(message: string, meta?: LogMeta): void {
    this.#inner.notice(message, meta);
  }

  info(message: string, meta?: LogMeta): void {
    this.#inner.info(message, meta);
  }

  debug(message: string, meta?: LogMeta): void {
    this.#inner.debug(message, meta);
  }

  enabled(level: LogLevel): boolean {
    return this.#inner.enabled(level);
  }

  child(meta: LogMeta): Logger {
    const component = meta.component === undefined ? this.#component : String(meta.component);
    return new RecordingLogger(this.#inner.child(meta), this.#errors, component);
  }
}
