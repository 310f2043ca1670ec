/**
 * The service's one logger. One line per event on stdout:
 *   `HH:MM:SS.mmm key=value … [level] message`
 * Metadata keys print in a fixed order (the reference's log patterns depend on which key comes
 * last), then the level. Messages below the configured LOG_LEVEL are dropped.
 *
 * Callers must never pass secrets or client IP addresses; the logger cannot tell them apart.
 */
import type { LogLevel } from "../config/mod.ts";

/** The levels LOG_LEVEL names (declared with the configuration that parses it). */
export type { LogLevel };

const SEVERITY: Record<LogLevel, number> = {
  emergency: 0,
  alert: 1,
  critical: 2,
  error: 3,
  warning: 4,
  notice: 5,
  info: 6,
  debug: 7,
};

/** Metadata keys in the order they print; unknown keys follow in insertion order. */
const KEY_ORDER = [
  "pid",
  "client_id",
  "component",
  "connection",
  "instance_id",
  "origin",
  "pg_client",
  "pg_producer",
  "pg_slot",
  "request_id",
  "sq_client",
  "user_id",
  "proxy_session_id",
];

export type LogMeta = Readonly<Record<string, string | number | undefined>>;

export interface Logger {
  error(message: string, meta?: LogMeta): void;
  warning(message: string, meta?: LogMeta): void;
  notice(message: string, meta?: LogMeta): void;
  info(message: string, meta?: LogMeta): void;
  debug(message: string, meta?: LogMeta): void;
  /** True when a message at `level` would be written (to skip building costly messages). */
  enabled(level: LogLevel): boolean;
  /** A logger that adds `meta` to every line (e.g. `{ component: "http" }`). */
  child(meta: LogMeta): Logger;
}

export interface LoggerOptions {
  level: LogLevel;
  /** Where lines go; defaults to stdout via console.log. */
  write?: (line: string) => void;
  now?: () => Date;
  meta?: LogMeta;
}

interface Sink {
  write: (line: string) => void;
  now: () => Date;
  threshold: number;
}

/**
 * A class rather than closures: every client connection gets a child logger, and methods on a
 * prototype cost nothing per child.
 */
class LineLogger implements Logger {
  readonly #sink: Sink;
  readonly #meta: LogMeta;

  constructor(sink: Sink, meta: LogMeta) {
    this.#sink = sink;
    this.#meta = meta;
  }

  #emit(level: LogLevel, message: string, meta?: LogMeta): void {
    if (SEVERITY[level] > this.#sink.threshold) return;
    const all = meta ? { ...this.#meta, ...meta } : this.#meta;
    this.#sink.write(formatLogLine(this.#sink.now(), level, message, all));
  }

  error(message: string, meta?: LogMeta): void {
    this.#emit("error", message, meta);
  }

  warning(message: string, meta?: LogMeta): void {
    this.#emit("warning", message, meta);
  }

  notice(message: string, meta?: LogMeta): void {
    this.#emit("notice", message, meta);
  }

  info(message: string, meta?: LogMeta): void {
    this.#emit("info", message, meta);
  }

  debug(message: string, meta?: LogMeta): void {
    this.#emit("debug", message, meta);
  }

  enabled(level: LogLevel): boolean {
    return SEVERITY[level] <= this.#sink.threshold;
  }

  child(meta: LogMeta): Logger {
    return new LineLogger(this.#sink, { ...this.#meta, ...meta });
  }
}

export function createLogger(options: LoggerOptions): Logger {
  return new LineLogger({
    write: options.write ?? ((line: string) => console.log(line)),
    now: options.now ?? (() => new Date()),
    threshold: SEVERITY[options.level],
  }, options.meta ?? {});
}

/** Formats one log line; exported for tests and for callers that print without a level gate. */
export function formatLogLine(at: Date, level: LogLevel, message: string, meta: LogMeta): string {
  const time = at.toISOString().slice(11, 23);
  const keys = Object.keys(meta).filter((key) => meta[key] !== undefined);
  keys.sort((a, b) => rank(a) - rank(b));
  const pairs = keys.map((key) => `${key}=${meta[key]} `).join("");
  // Keep one event on one line even when a message carries newlines (e.g. a Postgres detail).
  return `${time} ${pairs}[${level}] ${message.replaceAll("\n", "\\n")}`;
}

function rank(key: string): number {
  const index = KEY_ORDER.indexOf(key);
  return index === -1 ? KEY_ORDER.length : index;
}
