/**
 * For the benchmark smoke tests: run a benchmark script at `--small` sizes, under Deno with the
 * service it measures under Bun, and read its last line `<marker> <json>`. The tests that call
 * this skip under Bun (ONCE_UNDER_DENO in ./wait.ts).
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

export interface BenchRun<T> {
  /** Everything the script printed (its tables and notes). */
  stdout: string;
  /** The JSON of the `<marker> <json>` line. */
  result: T;
}

/**
 * Runs `deno run -A <script> --small --runtime bun`, asserts it exits 0 (the message carries its
 * output and the end of its log) and that it printed the `<marker> ` line, and returns both.
 */
export async function runSmallBench<T>(
  script: string,
  options: { marker: string; env?: Record<string, string> },
): Promise<BenchRun<T>> {
  const deno = join(ROOT, "node_modules", ".bin", "deno");
  const child = spawn(deno, ["run", "-A", script, "--small", "--runtime", "bun"], {
    cwd: ROOT,
    env: { ...process.env, NO_COLOR: "1", ...options.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (chunk) => stdout += String(chunk));
  child.stderr!.on("data", (chunk) => stderr += String(chunk));
  const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
  assert.equal(code, 0, `exit ${code}\n${stdout}\n${stderr.slice(-4000)}`);
  const prefix = `${options.marker} `;
  const line = stdout.split("\n").find((l) => l.startsWith(prefix));
  assert.ok(line, stdout);
  return { stdout, result: JSON.parse(line.slice(prefix.length)) as T };
}

/**
 * Asserts that `values` has a figure for every id: a number, or "Infinity" (how the scripts'
 * JSON writes a latency that never arrived). `label` leads the message ("with: ").
 */
export function assertFigures(
  values: Record<string, unknown>,
  ids: readonly { id: string }[],
  label = "",
): void {
  for (const { id } of ids) {
    const value = values[id];
    assert.ok(
      typeof value === "number" || value === "Infinity",
      `${label}figure ${id} missing: ${JSON.stringify(values)}`,
    );
  }
}
