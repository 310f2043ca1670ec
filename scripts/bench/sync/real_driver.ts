/**
 * Runs `real_client.mjs` (the unmodified electric-sql@0.12.1 client) in Node with TZ=UTC and
 * collects the JSON lines it reports. Its output is kept for the error message if it fails.
 */
import { spawn } from "node:child_process";
import { join } from "node:path";
import { ROOT } from "./env.ts";

export interface RealClientOptions {
  serviceUrl: string;
  databaseUrl: string;
  rows: number;
  latency?: {
    rate: number;
    samples: number;
    warmup: number;
    insertValue: string;
    updateIds: string[];
  };
}

export interface RealClientResult {
  initial: { ms: number; rows: number };
  latency?: { values: number[]; lost: number };
}

type Event =
  | { event: "connected" }
  | { event: "initial"; ms: number; rows: number }
  | { event: "latency"; values: number[]; lost: number }
  | { event: "error"; message: string };

export function runRealClient(
  options: RealClientOptions,
  timeoutMs = 1_800_000,
): Promise<RealClientResult> {
  const script = join(ROOT, "scripts", "bench", "sync", "real_client.mjs");
  const child = spawn("node", [script, JSON.stringify(options)], {
    cwd: ROOT,
    env: { ...process.env, TZ: "UTC" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const events: Event[] = [];
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (chunk) => {
    stdout += String(chunk);
    let newline: number;
    while ((newline = stdout.indexOf("\n")) >= 0) {
      const line = stdout.slice(0, newline);
      stdout = stdout.slice(newline + 1);
      try {
        events.push(JSON.parse(line));
      } catch {
        stderr += `${line}\n`; // the client's own logging
      }
    }
  });
  child.stderr!.on("data", (chunk) => stderr += String(chunk));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("exit", (code, signal) => {
      clearTimeout(timer);
      const failed = events.find((e) => e.event === "error");
      const initial = events.find((e) => e.event === "initial");
      const latency = events.find((e) => e.event === "latency");
      if (code !== 0 || failed || !initial || (options.latency && !latency)) {
        const why = failed && failed.event === "error" ? failed.message : `exit ${code ?? signal}`;
        reject(new Error(`The real client failed: ${why}\n${stderr.slice(-3000)}`));
        return;
      }
      resolve({
        initial: initial.event === "initial" ? { ms: initial.ms, rows: initial.rows } : {
          ms: NaN,
          rows: 0,
        },
        latency: latency?.event === "latency"
          ? { values: latency.values, lost: latency.lost }
          : undefined,
      });
    });
  });
}
