/**
 * The command line. The service is configured by environment variables only (as the reference
 * is), so the command line is small: `--dev`, `--help` and `--version`. Anything else is a
 * mistake worth stopping for — a flag silently ignored leaves a user wondering why it did
 * nothing — so it is refused with the usage and exit status 2, as Unix tools do.
 */
import { OPTIONS } from "./config/mod.ts";
import { ELECTRIC_VERSION, SERVICE_VERSION } from "./version.ts";

export type Command =
  | { kind: "run"; dev: boolean }
  | { kind: "help" }
  | { kind: "version" }
  | { kind: "refused"; message: string };

/** Exit status for a command line the service does not understand. */
export const USAGE_EXIT = 2;

export function parseCommandLine(args: readonly string[]): Command {
  let dev = false;
  for (const arg of args) {
    if (arg === "--help" || arg === "-h" || arg === "help") return { kind: "help" };
    if (arg === "--version" || arg === "-V" || arg === "version") return { kind: "version" };
  }
  for (const arg of args) {
    if (arg === "--dev" || arg === "dev") dev = true;
    else return { kind: "refused", message: `unknown argument: ${JSON.stringify(arg)}` };
  }
  return { kind: "run", dev };
}

export function versionText(runtime: string): string {
  const version = (process.versions as Record<string, string | undefined>)[runtime];
  const on = version ? `${runtime} ${version}` : runtime;
  return `electric ${SERVICE_VERSION} (ElectricSQL ${ELECTRIC_VERSION} compatible, ${on})`;
}

/** The usage: how to run it, then every variable with its default, then where to read more. */
export function usageText(program = "electric"): string {
  const width = Math.max(...OPTIONS.map((o) => o.env.length));
  const variables = OPTIONS.map((option) => {
    const fallback = option.default === "" ? "" : ` (default: ${option.default})`;
    return `  ${option.env.padEnd(width)}  ${option.doc}${fallback}`;
  });
  return [
    `Usage: ${program} [--dev]`,
    `       ${program} --help | --version`,
    "",
    "A sync service for local-first apps built with the electric-sql 0.12 client.",
    "It is configured by environment variables; at least DATABASE_URL (a Postgres with",
    "wal_level=logical), PG_PROXY_PASSWORD and the AUTH_* settings.",
    "",
    "Options:",
    "  --dev          development mode: without DATABASE_URL, start a local Postgres in",
    "                 ./.electric/pgdata (ELECTRIC_DEV_DATA_DIR; binaries from POSTGRES_BIN_DIR,",
    "                 the system or npm); insecure auth and a proxy password by default",
    "  -h, --help     print this help and exit",
    "  -V, --version  print the version and exit",
    "",
    "Environment variables:",
    ...variables,
    "",
    "More: README.md beside the sources or on the project's page (configuration, permissions,",
    "deployment); the variables are those of ElectricSQL 0.12's sync service.",
  ].join("\n");
}
