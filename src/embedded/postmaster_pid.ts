/**
 * Reading `postmaster.pid`, the lock file a running postmaster keeps in its data directory.
 * Line layout (see src/include/utils/pidfile.h): 1 pid, 2 data dir, 3 start time, 4 port,
 * 5 socket dir, 6 listen address, 7 shmem key, 8 status ("starting", "ready", "stopping", ...).
 */

import { readFileSync } from "node:fs";
import { join } from "node:path";

export interface PostmasterPid {
  pid: number;
  dataDir: string;
  port: number;
  /** Empty while an older server has not written it yet. */
  status: string;
}

/** Parses the lock file text; `undefined` when the pid or port is not a positive integer. */
export function parsePostmasterPid(text: string): PostmasterPid | undefined {
  const lines = text.split("\n").map((line) => line.trim());
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  if (!Number.isInteger(pid) || pid <= 0 || !Number.isInteger(port) || port <= 0) return undefined;
  return { pid, dataDir: lines[1] ?? "", port, status: lines[7] ?? "" };
}

/** The parsed `postmaster.pid` of `dataDir`, or `undefined` when absent or unreadable. */
export function readPostmasterPid(dataDir: string): PostmasterPid | undefined {
  try {
    return parsePostmasterPid(readFileSync(join(dataDir, "postmaster.pid"), "utf8"));
  } catch {
    return undefined;
  }
}

/**
 * True when a process with `pid` exists (EPERM means it exists but belongs to someone else)
 * and, where /proc tells, is not a zombie: an orphaned postmaster that exited stays one until
 * its new parent reaps it, which some container init processes never do.
 */
export function isPidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as { code?: string }).code !== "EPERM") return false;
  }
  return !isZombie(pid);
}

/** True when a `/proc/<pid>/stat` line says zombie: `pid (comm) state ...`. */
export function isZombieStat(stat: string): boolean {
  // comm may contain spaces and parentheses, so the state follows the last ')'.
  return stat.slice(stat.lastIndexOf(")") + 1).trim().startsWith("Z");
}

function isZombie(pid: number): boolean {
  try {
    return isZombieStat(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
}

/** The lock file of a postmaster that is still alive on `dataDir`, ignoring stale files. */
export function livePostmaster(dataDir: string): PostmasterPid | undefined {
  const lock = readPostmasterPid(dataDir);
  return lock !== undefined && isPidAlive(lock.pid) ? lock : undefined;
}
