/**
 * `startCluster`: initdb when needed, reuse a postmaster that already runs on the data dir,
 * otherwise start one on a free (preferably last-used) port and wait until it answers.
 */

import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { findPostgresBinaries, INSTALL_HINT } from "./binaries.ts";
import { findFreePort, isPortFree } from "./port.ts";
import { livePostmaster } from "./postmaster_pid.ts";
import { prepareDataDir, resolveRunAs } from "./privileges.ts";
import {
  launchPostgres,
  postgresArgs,
  runInitdb,
  type ServerContext,
  stopPostgres,
  waitReady,
} from "./server.ts";
import { logSize, logTail, readSavedPort, savePort, sidecarFiles } from "./sidecar.ts";
import type {
  ClusterError,
  ClusterErrorCode,
  ClusterOptions,
  RunningCluster,
  StartClusterResult,
} from "./types.ts";

const READY_TIMEOUT_MS = 20_000;
// Only a port we picked ourselves can be lost to a race; retry those with a new one.
const START_ATTEMPTS = 3;

/** The connection URL of a local cluster on `port`. */
export function clusterUrl(port: number, database = "postgres"): string {
  return `postgresql://postgres@127.0.0.1:${port}/${database}?sslmode=disable`;
}

function failure(code: ClusterErrorCode, message: string, hint?: string): StartClusterResult {
  const error: ClusterError = hint === undefined ? { code, message } : { code, message, hint };
  return { ok: false, error };
}

function withLog(message: string, logPath: string, since: number): string {
  const tail = logTail(logPath, since);
  return tail === "" ? message : `${message}; log "${logPath}" ends with:\n${tail}`;
}

async function choosePort(requested: number | undefined, savedPath: string): Promise<number> {
  if (requested !== undefined) return requested;
  const saved = readSavedPort(savedPath);
  if (saved !== undefined && (await isPortFree(saved))) return saved;
  return await findFreePort();
}

/** Starts (or reuses) the cluster in `options.dataDir`. Never throws for expected failures. */
export async function startCluster(options: ClusterOptions): Promise<StartClusterResult> {
  const binDir = findPostgresBinaries(options.binDir);
  if (binDir === undefined) {
    const where = options.binDir ?? process.env.POSTGRES_BIN_DIR;
    const message = where === undefined
      ? "PostgreSQL server binaries not found: no initdb in the usual places or on PATH"
      : `PostgreSQL server binaries not found: no initdb and postgres in "${where}"`;
    return failure("POSTGRES_BINARIES_MISSING", message, INSTALL_HINT);
  }
  const dataDir = resolve(options.dataDir);
  const files = sidecarFiles(dataDir);
  const logStart = logSize(files.log);
  const runAs = resolveRunAs();
  if (!runAs.ok) return failure("INITDB_FAILED", runAs.message);
  const ctx: ServerContext = { binDir, dataDir, runAs: runAs.runAs, logPath: files.log };

  let createdNow = false;
  if (!existsSync(join(dataDir, "PG_VERSION"))) {
    try {
      prepareDataDir(dataDir, runAs.runAs);
    } catch (error) {
      const detail = error instanceof Error ? error.message : String(error);
      return failure("INITDB_FAILED", `Could not prepare data directory "${dataDir}": ${detail}`);
    }
    const problem = await runInitdb(ctx);
    if (problem !== undefined) {
      return failure(
        "INITDB_FAILED",
        withLog(`Could not initialise "${dataDir}": ${problem}`, files.log, logStart),
      );
    }
    createdNow = true;
  }

  const running = livePostmaster(dataDir);
  if (running !== undefined) return await reuse(running.port, dataDir, createdNow, files.log);

  for (let attempt = 1;; attempt++) {
    // A retry means the previous port may have been taken under us: pick a fresh one.
    const port = attempt === 1 ? await choosePort(options.port, files.port) : await findFreePort();
    const args = postgresArgs(dataDir, {
      port,
      walLevel: options.walLevel ?? "logical",
      extraSettings: options.extraSettings,
    });
    const attemptLogStart = logSize(files.log);
    const launched = launchPostgres(ctx, args);
    const outcome = await waitReady(port, { timeoutMs: READY_TIMEOUT_MS, launched });
    if (outcome === "ready") {
      savePort(files.port, port);
      let stopping: Promise<void> | undefined;
      const cluster: RunningCluster = {
        url: clusterUrl(port),
        port,
        dataDir,
        createdNow,
        stop: () => stopping ??= stopPostgres(dataDir, launched),
      };
      return { ok: true, cluster };
    }
    await stopPostgres(dataDir, launched);
    const detail = outcome === "exited"
      ? `postgres exited during startup (${await launched.exited})`
      : `postgres did not accept connections on port ${port} within ${READY_TIMEOUT_MS / 1000} s`;
    if (options.port !== undefined || attempt >= START_ATTEMPTS || outcome === "timeout") {
      return failure(
        "START_FAILED",
        withLog(
          `Could not start PostgreSQL on "${dataDir}": ${detail}`,
          files.log,
          attemptLogStart,
        ),
      );
    }
  }
}

async function reuse(
  port: number,
  dataDir: string,
  createdNow: boolean,
  logPath: string,
): Promise<StartClusterResult> {
  const outcome = await waitReady(port, { timeoutMs: READY_TIMEOUT_MS });
  if (outcome !== "ready") {
    return failure(
      "START_FAILED",
      `A postmaster is already running on "${dataDir}" but port ${port} does not answer`,
      `Stop it (pg_ctl stop -D "${dataDir}") or check "${logPath}"`,
    );
  }
  // Someone else started it, so someone else stops it.
  const cluster: RunningCluster = {
    url: clusterUrl(port),
    port,
    dataDir,
    createdNow,
    stop: async () => {},
  };
  return { ok: true, cluster };
}
