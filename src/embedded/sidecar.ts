/**
 * Files kept beside the data directory (`<dataDir>.log`, `<dataDir>.port`). They live outside
 * the data dir so they stay ours (root-owned when we switch user) and survive a re-initdb.
 */

import { readFileSync, statSync, writeFileSync } from "node:fs";

export interface SidecarFiles {
  log: string;
  port: string;
}

/** Sidecar paths for an absolute, normalised `dataDir`. */
export function sidecarFiles(dataDir: string): SidecarFiles {
  return { log: `${dataDir}.log`, port: `${dataDir}.port` };
}

/** The port saved by a previous run, if the file holds a valid one. */
export function readSavedPort(path: string): number | undefined {
  try {
    const port = Number(readFileSync(path, "utf8").trim());
    return Number.isInteger(port) && port > 0 && port < 65536 ? port : undefined;
  } catch {
    return undefined;
  }
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
