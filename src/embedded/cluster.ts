/**
 * `startCluster`: find and check the binaries, initdb when needed, attach to a postmaster that
 * already runs on the data dir (adopting it when its starter is gone), otherwise start one on a
 * free (preferably last-used) port and wait until it answers.
 */

import { existsSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { findFreePort, isPortFree } from "./port.ts";
import { isPidAlive, livePostmaster, type PostmasterPid } from "./postmaster_pid.ts";
import { locatePostgres } from "./prepare_binaries.ts";
import { prepareDataDir } from "./privileges.ts";
import {
  type Launched,
  launchPostgres,
  postgresArgs,
  runInitdb,
  type ServerContext,
  stopPostgres,
  waitReady,
} from "./server.ts";
import {
  clearOwner,
  logSize,
  logTail,
  readOwner,
  readSavedPort,
  saveOwner,
  savePort,
  type SidecarFiles,
  sidecarFiles,
} from "./sidecar.ts";
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

/** The uid owning an initialised data dir, if there is one. */
function existingOwner(dataDir: string): number | undefined {
  try {
    return statSync(join(dataDir, "PG_VERSION")).uid;
  } catch {
    return undefined;
  }
}

/** Starts, adopts or shares the cluster in `options.dataDir`. Never throws for expected failures. */
export async function startCluster(options: ClusterOptions): Promise<StartClusterResult> {
  const dataDir = resolve(options.dataDir);
  const located = locatePostgres(options.binDir, {
    runAsUser: options.runAsUser,
    dataDirOwner: existingOwner(dataDir),
  });
  if (!located.ok) return { ok: false, error: located.error };
  const { binaries, runAs, serverUser } = located;
  const files = sidecarFiles(dataDir);
  const logStart = logSize(files.log);
  const ctx: ServerContext = { binDir: binaries.dir, dataDir, runAs, logPath: files.log };

  let createdNow = false;
  if (!existsSync(join(dataDir, "PG_VERSION"))) {
    try {
      prepareDataDir(dataDir, runAs);
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

  const base = { dataDir, createdNow, binaries, serverUser };
  const running = livePostmaster(dataDir);
  if (running !== undefined) return await attach(running, base, files);

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
      saveOwner(files.owner, process.pid);
      let stopping: Promise<void> | undefined;
      const cluster: RunningCluster = {
        ...base,
        url: clusterUrl(port),
        port,
        origin: "started",
        pid: livePostmaster(dataDir)?.pid ?? launched.child.pid ?? 0,
        stop: () => stopping ??= stopOwned(dataDir, files, launched),
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

async function stopOwned(dataDir: string, files: SidecarFiles, target: Launched | number) {
  await stopPostgres(dataDir, target);
  clearOwner(files.owner, process.pid);
}

/**
 * A postmaster already runs on the data dir. If the process that started it is still alive
 * (another service, or this process through an earlier call) we share it and leave it to its
 * owner. Otherwise its owner crashed or was killed: we adopt it and stop it like our own.
 */
async function attach(
  running: PostmasterPid,
  base: Pick<RunningCluster, "dataDir" | "createdNow" | "binaries" | "serverUser">,
  files: SidecarFiles,
): Promise<StartClusterResult> {
  const { dataDir } = base;
  const outcome = await waitReady(running.port, { timeoutMs: READY_TIMEOUT_MS });
  if (outcome !== "ready") {
    return failure(
      "START_FAILED",
      `A postmaster (pid ${running.pid}) is already running on "${dataDir}" but port ${running.port} does not answer`,
      `Stop it (kill -INT ${running.pid}) or check "${files.log}"`,
    );
  }
  const owner = readOwner(files.owner);
  const shared = owner !== undefined && isPidAlive(owner);
  if (!shared) saveOwner(files.owner, process.pid);
  let stopping: Promise<void> | undefined;
  const cluster: RunningCluster = {
    ...base,
    url: clusterUrl(running.port),
    port: running.port,
    origin: shared ? "shared" : "adopted",
    pid: running.pid,
    stop: shared ? async () => {} : () => stopping ??= stopOwned(dataDir, files, running.pid),
  };
  return { ok: true, cluster };
}
