/**
 * Turning found binaries into ones that run: an npm package is repaired (see npm_package.ts)
 * and, when we switch user, made readable by that user; then `postgres --version` runs as
 * that user. That run is the proof the binaries work here (libraries load, files readable)
 * and gives the version dev mode prints.
 */

import { spawnSync } from "node:child_process";
import { join } from "node:path";
import {
  executableName,
  findPostgresBinaries,
  type FoundBinaries,
  INSTALL_HINT,
  npmPackageName,
} from "./binaries.ts";
import { npmNativeRoot, repairNpmPackage } from "./npm_package.ts";
import { grantTreeAccess, resolveRunAs, type RunAs, wrapCommand } from "./privileges.ts";
import type { ClusterError, PostgresBinaries, ServerUser } from "./types.ts";

export type PreparedBinaries =
  | { ok: true; binaries: PostgresBinaries }
  | { ok: false; message: string };

/** `15.18` from `postgres (PostgreSQL) 15.18` (or `17.2 (Homebrew)`), else `undefined`. */
export function parsePostgresVersion(output: string): string | undefined {
  return /\(PostgreSQL\)\s+(\d+(?:\.\d+)*)/.exec(output)?.[1];
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Runs `postgres --version` as `runAs`; the version, or why it did not run. */
export function postgresVersion(
  binDir: string,
  runAs: RunAs,
): { ok: true; version: string } | { ok: false; message: string } {
  const binary = join(binDir, executableName("postgres"));
  const [command, ...args] = wrapCommand(runAs, binary, ["--version"]);
  // cwd "/": the switched-to user may not be able to enter ours.
  const run = spawnSync(command, args, { cwd: "/", encoding: "utf8", timeout: 10_000 });
  const output = `${run.stdout ?? ""}${run.stderr ?? ""}`.trim();
  const version = run.status === 0 ? parsePostgresVersion(output) : undefined;
  if (version !== undefined) return { ok: true, version };
  const why = run.error ? run.error.message : output || `exit status ${run.status}`;
  const as = runAs.kind === "user" ? ` as user "${runAs.user.name}"` : "";
  return { ok: false, message: `"${binary} --version" failed${as}: ${why}` };
}

/** Repairs and checks `found`; never throws. */
export function prepareBinaries(found: FoundBinaries, runAs: RunAs): PreparedBinaries {
  const native = npmNativeRoot(found.dir);
  if (native !== undefined) {
    try {
      repairNpmPackage(native);
      grantTreeAccess(native, runAs);
    } catch (error) {
      return { ok: false, message: `Could not prepare "${native}": ${describe(error)}` };
    }
  }
  const probed = postgresVersion(found.dir, runAs);
  if (!probed.ok) return probed;
  return { ok: true, binaries: { ...found, version: probed.version } };
}

export type LocatedPostgres =
  | { ok: true; binaries: PostgresBinaries; runAs: RunAs; serverUser: ServerUser }
  | { ok: false; error: ClusterError };

/**
 * Finds, repairs and checks the binaries (`binDir` and `runAsUser` as in `ClusterOptions`),
 * with the user they run as. What `startCluster` does first; CI uses it to decide whether to
 * install any.
 */
export function locatePostgres(
  binDir?: string,
  options: { runAsUser?: string; dataDirOwner?: number } = {},
): LocatedPostgres {
  const found = findPostgresBinaries(binDir);
  if (found === undefined) {
    const where = binDir ?? process.env.POSTGRES_BIN_DIR;
    const message = where === undefined || where === ""
      ? "PostgreSQL server binaries not found: no initdb in the usual places, on PATH " +
        `or in the npm package ${npmPackageName()}`
      : `PostgreSQL server binaries not found: no initdb and postgres in "${where}"`;
    return { ok: false, error: { code: "POSTGRES_BINARIES_MISSING", message, hint: INSTALL_HINT } };
  }
  const runAs = resolveRunAs({ user: options.runAsUser, dataDirOwner: options.dataDirOwner });
  if (!runAs.ok) return { ok: false, error: { code: "INITDB_FAILED", message: runAs.message } };
  const prepared = prepareBinaries(found, runAs.runAs);
  if (!prepared.ok) {
    const error: ClusterError = {
      code: "POSTGRES_BINARIES_UNUSABLE",
      message: prepared.message,
      hint: INSTALL_HINT,
    };
    return { ok: false, error };
  }
  return { ok: true, binaries: prepared.binaries, runAs: runAs.runAs, serverUser: runAs.user };
}
