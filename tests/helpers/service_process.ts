/**
 * Runs the service as a child process the way users do: under the same runtime as the test
 * (deno or bun), or as the compiled binary. Collects its output and exposes waits on
 * observable conditions (exit, output lines, HTTP status) instead of sleeps.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { waitFor } from "./wait.ts";

export const MAIN = fileURLToPath(new URL("../../src/main.ts", import.meta.url));

export interface ServiceProcess {
  child: ChildProcess;
  /** Everything written to stdout and stderr so far. */
  output(): string;
  /** Resolves with the exit code (or the signal name) once the process ends. */
  exited: Promise<number | string>;
  /** Waits until `GET path` answers `status`. */
  waitForStatus(port: number, status: number, timeoutMs?: number): Promise<void>;
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<void>;
  /**
   * Sends a signal through process.kill: Deno's ChildProcess#kill reports the signal it sent
   * as the exit reason even when the child handles it and exits 0, which would hide the
   * status we want to check.
   */
  signal(name: "SIGTERM" | "SIGINT"): void;
  /** Sends SIGKILL if still running (cleanup in `finally`). */
  kill(): void;
}

/** The command that runs `src/main.ts` under the runtime executing this test. */
export function runtimeCommand(): { command: string; args: string[] } {
  if ("Deno" in globalThis) return { command: process.execPath, args: ["run", "-A", MAIN] };
  return { command: process.execPath, args: [MAIN] };
}

export function startService(
  env: Record<string, string>,
  options: { command?: string; args?: string[]; extraArgs?: string[]; cwd?: string } = {},
): ServiceProcess {
  const base = options.command
    ? { command: options.command, args: options.args ?? [] }
    : runtimeCommand();
  const child = spawn(base.command, [...base.args, ...(options.extraArgs ?? [])], {
    env,
    cwd: options.cwd,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout!.on("data", (chunk) => output += String(chunk));
  child.stderr!.on("data", (chunk) => output += String(chunk));
  const exited = new Promise<number | string>((resolve) => {
    child.on("exit", (code, signal) => resolve(code ?? signal ?? "unknown"));
  });
  return {
    child,
    output: () => output,
    exited,
    async waitForStatus(port, status, timeoutMs = 20_000) {
      await waitFor(async () => {
        if (child.exitCode !== null) {
          throw new Error(`The service exited (${child.exitCode}) before answering:\n${output}`);
        }
        try {
          const res = await fetch(`http://127.0.0.1:${port}/api/status`);
          await res.body?.cancel();
          return res.status === status;
        } catch {
          return false;
        }
      }, { timeoutMs, intervalMs: 25, what: `GET /api/status to answer ${status}` });
    },
    async waitForOutput(pattern, timeoutMs = 20_000) {
      await waitFor(() => pattern.test(output), {
        timeoutMs,
        what: `output matching ${pattern}; output so far:\n${output}`,
      });
    },
    signal(name) {
      process.kill(child.pid!, name);
    },
    kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    },
  };
}

/** Resolves with the exit code, or rejects after `timeoutMs` with the output so far. */
export async function exitWithin(
  service: ServiceProcess,
  timeoutMs: number,
): Promise<number | string> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(new Error(`The service did not exit within ${timeoutMs} ms:\n${service.output()}`)),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([service.exited, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** True when something accepts TCP connections on 127.0.0.1:port. */
export async function isListening(port: number): Promise<boolean> {
  const net = await import("node:net");
  return await new Promise((resolve) => {
    const socket = net.connect({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}
