/**
 * Files kept beside the data directory (`<dataDir>.log`, `<dataDir>.port`, `<dataDir>.owner`).
 * They live outside the data dir so they stay ours (root-owned when we switch user) and survive
 * a re-initdb. The owner file holds the pid of the process that started (or adopted) the
 * running postmaster, so a later run can tell a crashed owner from a live one.
 */

import { readFileSync, rmSync, statSync, writeFileSync } from "node:fs";

export interface SidecarFiles {
  log: string;
  port: string;
  owner: string;
}

/** Sidecar paths for an absolute, normalised `dataDir`. */
export function sidecarFiles(dataDir: string): SidecarFiles {
  return { log: `${dataDir}.log`, port: `${dataDir}.port`, owner: `${dataDir}.owner` };
}

function readPositiveInt(path: string, max: number): number | undefined {
  try {
    const value = Number(readFileSync(path, "utf8").trim());
    return Number.isInteger(value) && value > 0 && value <= max ? value : undefined;
  } catch {
    return undefined;
  }
}

/** The port saved by a previous run, if the file holds a valid one. */
export function readSavedPort(path: string): number | undefined {
  return readPositiveInt(path, 65535);
}

/** The pid in the owner file, if any. */
export function readOwner(path: string): number | undefined {
  return readPositiveInt(path, Number.MAX_SAFE_INTEGER);
}

/** Best effort, like the port: without it a later run adopts rather than shares. */
export function saveOwner(path: string, pid: number): void {
  try {
    writeFileSync(path, `${pid}\n`);
  } catch {
    // Intentionally ignored, see above.
  }
}

/** Removes the owner file if it still names `pid` (a later owner may have replaced it). */
export function clearOwner(path: string, pid: number): void {
  if (readOwner(path) === pid) rmSync(path, { force: true });
}

/** Best effort: losing the saved port only means a different port next time. */
export function savePort(path: string, port: number): void {
  try {
    writeFileSync(path, `${port}\n`);
  } catch {
    // Intentionally ignored, see above.
  }
}

/** The last `lines` lines of `text`, without a trailing empty line. */
export function tailLines(text: string, lines: number): string {
  const all = text.replace(/\n+$/, "").split("\n");
  return all.slice(-lines).join("\n");
}

/** Current size of the log, so a failure report can show only what this run appended. */
export function logSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

/** The last lines the log gained after byte offset `since`, or "" when unreadable. */
export function logTail(path: string, since = 0, lines = 20): string {
  try {
    return tailLines(readFileSync(path).subarray(since).toString("utf8"), lines);
  } catch {
    return "";
  }
}
