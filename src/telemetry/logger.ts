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

export function createLogger(options: LoggerOptions): Logger {
  const write = options.write ?? ((line: string) => console.log(line));
  const now = options.now ?? (() => new Date());
  const threshold = SEVERITY[options.level];

  function build(baseMeta: LogMeta): Logger {
    const emit = (level: LogLevel) => (message: string, meta?: LogMeta) => {
      if (SEVERITY[level] > threshold) return;
      write(formatLogLine(now(), level, message, meta ? { ...baseMeta, ...meta } : baseMeta));
    };
    return {
      error: emit("error"),
      warning: emit("warning"),
      notice: emit("notice"),
      info: emit("info"),
      debug: emit("debug"),
      enabled: (level) => SEVERITY[level] <= threshold,
      child: (meta) => build({ ...baseMeta, ...meta }),
    };
  }
  return build(options.meta ?? {});
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
