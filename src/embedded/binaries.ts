/**
 * Locating the PostgreSQL server binaries (`initdb` and `postgres` in one directory).
 * An explicit directory is never second-guessed: if it lacks the binaries the answer is
 * "missing", so a misconfigured POSTGRES_BIN_DIR is reported instead of silently replaced.
 */

import { existsSync, statSync } from "node:fs";
import { delimiter, join } from "node:path";

const WELL_KNOWN_DIRS = [
  ...[17, 16, 15, 14].map((v) => `/usr/lib/postgresql/${v}/bin`),
  // Homebrew keg-only formulae (Apple silicon, then Intel).
  ...[17, 16, 15, 14].map((v) => `/opt/homebrew/opt/postgresql@${v}/bin`),
  ...[17, 16, 15, 14].map((v) => `/usr/local/opt/postgresql@${v}/bin`),
];

export const INSTALL_HINT = "Install the PostgreSQL server binaries " +
  "(Debian/Ubuntu: `apt-get install postgresql-15`; macOS: `brew install postgresql@15`) " +
  "or set POSTGRES_BIN_DIR to the directory that contains `initdb` and `postgres`.";

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** True when `dir` holds both `initdb` and `postgres`. */
export function hasServerBinaries(dir: string): boolean {
  return isFile(join(dir, "initdb")) && isFile(join(dir, "postgres"));
}

/**
 * The directory holding `initdb` and `postgres`, or `undefined`.
 * Order: `binDir`, else env POSTGRES_BIN_DIR, else the well-known dirs, else PATH.
 */
export function findPostgresBinaries(
  binDir?: string,
  env: Record<string, string | undefined> = process.env,
): string | undefined {
  const explicit = binDir ?? (env.POSTGRES_BIN_DIR || undefined);
  if (explicit !== undefined) return hasServerBinaries(explicit) ? explicit : undefined;
  const onPath = (env.PATH ?? "").split(delimiter).filter((dir) => dir !== "");
  for (const dir of [...WELL_KNOWN_DIRS, ...onPath]) {
    if (existsSync(dir) && hasServerBinaries(dir)) return dir;
  }
  return undefined;
}
