/**
 * The service's one logger. One line per event, errors on stderr and the rest on stdout, in
 * one of two formats (LOG_FORMAT):
 *   text: `YYYY-MM-DD HH:MM:SS.mmm key=value … [level] message` (UTC)
 *   json: `{"time":"<ISO 8601>","level":"info","message":"…","component":"http",…}`
 * Text metadata keys print in a fixed order (the reference's log patterns depend on which key
 * comes last), then the level. Messages below the configured LOG_LEVEL are dropped.
 *
 * Callers must never pass secrets or client IP addresses; the logger cannot tell them apart.
 */
import type { LogFormat, LogLevel } from "../config/mod.ts";

/** The levels LOG_LEVEL names (declared with the configuration that parses it). */
export type { LogFormat, LogLevel };

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
  /** Default "text". */
  format?: LogFormat;
  /** Where lines go; by default errors to stderr and everything else to stdout. */
  write?: (line: string, level: LogLevel) => void;
  now?: () => Date;
  meta?: LogMeta;
}

interface Sink {
  write: (line: string, level: LogLevel) => void;
  format: typeof formatLogLine;
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
    this.#sink.write(this.#sink.format(this.#sink.now(), level, message, all), level);
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

/** Errors on stderr, where operators and supervisors look for them; the rest on stdout. */
function writeToConsole(line: string, level: LogLevel): void {
  if (level === "error") console.error(line);
  else console.log(line);
}

export function createLogger(options: LoggerOptions): Logger {
  return new LineLogger({
    write: options.write ?? writeToConsole,
    format: options.format === "json" ? formatJsonLine : formatLogLine,
    now: options.now ?? (() => new Date()),
    threshold: SEVERITY[options.level],
  }, options.meta ?? {});
}

/** Formats one text log line; exported for tests and for callers that print without a level gate. */
export function formatLogLine(at: Date, level: LogLevel, message: string, meta: LogMeta): string {
  const iso = at.toISOString();
  const time = `${iso.slice(0, 10)} ${iso.slice(11, 23)}`;
  const keys = Object.keys(meta).filter((key) => meta[key] !== undefined);
  keys.sort((a, b) => rank(a) - rank(b));
  const pairs = keys.map((key) => `${key}=${meta[key]} `).join("");
  // Keep one event on one line even when a message carries newlines (e.g. a Postgres detail).
  return `${time} ${pairs}[${level}] ${message.replaceAll("\n", "\\n")}`;
}

/**
 * One JSON object a line, for log collectors: the fixed fields first, then the metadata (which
 * cannot overwrite them).
 */
export function formatJsonLine(at: Date, level: LogLevel, message: string, meta: LogMeta): string {
  const fields: Record<string, string | number> = {};
  for (const key of Object.keys(meta)) {
    const value = meta[key];
    if (value !== undefined && key !== "time" && key !== "level" && key !== "message") {
      fields[key] = value;
    }
  }
  return JSON.stringify({ time: at.toISOString(), level, message, ...fields });
}

function rank(key: string): number {
  const index = KEY_ORDER.indexOf(key);
  return index === -1 ? KEY_ORDER.length : index;
}
