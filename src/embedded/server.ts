/**
 * Process control for one cluster: initdb, the postmaster in the background, readiness and
 * shutdown. Output of both goes to the sidecar log file; failures are reported as values.
 */

import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import { join } from "node:path";
import postgres from "postgres";
import { executableName } from "./binaries.ts";
import { pollUntil } from "./poll.ts";
import { acceptsTcp } from "./port.ts";
import { isPidAlive, livePostmaster } from "./postmaster_pid.ts";
import { type RunAs, wrapCommand } from "./privileges.ts";

/** Where a server command runs and logs. */
export interface ServerContext {
  binDir: string;
  dataDir: string;
  runAs: RunAs;
  logPath: string;
}

export interface Launched {
  child: ChildProcess;
  /** Resolves with the exit description once the spawned process is gone. */
  exited: Promise<string>;
  hasExited(): boolean;
}

// Unix socket paths are limited to 107 bytes; past that we serve TCP only (all we use).
const MAX_SOCKET_PATH = 107;

/** Spawns `binary args` with stdin closed and stdout/stderr appended to the log. */
function launch(ctx: ServerContext, binary: string, args: readonly string[]): Launched {
  const path = join(ctx.binDir, executableName(binary));
  const [command, ...argv] = wrapCommand(ctx.runAs, path, args);
  const logFd = openSync(ctx.logPath, "a");
  let exitedFlag = false;
  let child: ChildProcess;
  try {
    // Detached: its own process group, so a Ctrl-C aimed at the service does not shut the
    // database down underneath it; the service stops it through `stop()` instead.
    child = spawn(command, argv, {
      cwd: ctx.dataDir,
      detached: true,
      stdio: ["ignore", logFd, logFd],
    });
  } finally {
    closeSync(logFd);
  }
  const exited = new Promise<string>((resolve) => {
    child.once("error", (error) => {
      exitedFlag = true;
      resolve(`could not run "${command}": ${error.message}`);
    });
    child.once("exit", (code, signal) => {
      exitedFlag = true;
      resolve(signal ? `killed by ${signal}` : `exit code ${code}`);
    });
  });
  return { child, exited, hasExited: () => exitedFlag };
}

/** Runs initdb for a superuser "postgres" with trust auth; the failure text on error. */
export async function runInitdb(ctx: ServerContext): Promise<string | undefined> {
  const run = launch(ctx, "initdb", [
    "-D",
    ctx.dataDir,
    "-U",
    "postgres",
    "--auth=trust",
    "-E",
    "UTF8",
    "--locale=C",
  ]);
  const outcome = await run.exited;
  return outcome === "exit code 0" ? undefined : `initdb failed (${outcome})`;
}

/** The server argv after `postgres`: fixed settings first, so `extraSettings` can override. */
export function postgresArgs(
  dataDir: string,
  options: { port: number; walLevel: string; extraSettings?: Record<string, string> },
): string[] {
  const socketDir = `${dataDir}/.s.PGSQL.${options.port}`.length <= MAX_SOCKET_PATH ? dataDir : "";
  const settings: Record<string, string> = {
    listen_addresses: "127.0.0.1",
    wal_level: options.walLevel,
    max_wal_senders: "20",
    max_replication_slots: "20",
    unix_socket_directories: socketDir,
    ...options.extraSettings,
  };
  const args = ["-D", dataDir, "-p", String(options.port)];
  for (const [name, value] of Object.entries(settings)) args.push("-c", `${name}=${value}`);
  return args;
}

/** Starts the postmaster in the background; it keeps running until signalled. */
export function launchPostgres(ctx: ServerContext, args: readonly string[]): Launched {
  const run = launch(ctx, "postgres", args);
  // The cluster must not keep the event loop (and so a finished test run) alive.
  run.child.unref();
  return run;
}

async function answersSelect1(port: number): Promise<boolean> {
  if (!(await acceptsTcp(port))) return false;
  const sql = postgres({
    host: "127.0.0.1",
    port,
    user: "postgres",
    database: "postgres",
    max: 1,
    connect_timeout: 2,
    onnotice: () => {},
  });
  try {
    await sql`select 1`;
    return true;
  } catch {
    // 57P03 "starting up" and refused connections alike: not ready yet.
    return false;
  } finally {
    await sql.end({ timeout: 0 });
  }
}

/** Polls until the server answers `select 1`, the launched process dies, or time runs out. */
export async function waitReady(
  port: number,
  options: { timeoutMs: number; launched?: Launched },
): Promise<"ready" | "exited" | "timeout"> {
  const outcome = await pollUntil(async () => {
    if (options.launched?.hasExited()) return "exited" as const;
    return (await answersSelect1(port)) ? "ready" as const : undefined;
  }, { timeoutMs: options.timeoutMs, intervalMs: 100 });
  return outcome ?? "timeout";
}

function signal(pid: number | undefined, name: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(pid, name);
  } catch {
    // Already gone.
  }
}

/**
 * Fast shutdown (SIGINT), escalating to immediate (SIGQUIT) and then SIGKILL if the server
 * does not go away. The postmaster pid comes from the lock file because with `runuser` the
 * spawned pid is the wrapper, not the postmaster. `target` is what we spawned, or the pid of
 * an adopted postmaster (not our child: "gone" means that process no longer exists; its lock
 * file disappears a moment before it exits).
 */
export async function stopPostgres(dataDir: string, target: Launched | number): Promise<void> {
  const gone = typeof target === "number" ? () => !isPidAlive(target) : () => target.hasExited();
  const fallbackPid = typeof target === "number" ? target : target.child.pid;
  const steps: [NodeJS.Signals, number][] = [["SIGINT", 20_000], ["SIGQUIT", 5_000], [
    "SIGKILL",
    5_000,
  ]];
  for (const [name, timeoutMs] of steps) {
    if (gone()) return;
    signal(livePostmaster(dataDir)?.pid ?? fallbackPid, name);
    if (await pollUntil(gone, { timeoutMs })) return;
  }
}
