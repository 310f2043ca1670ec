/**
 * Smoke test of the compiled executable `dist/electric` (built by `scripts/build`): it must
 * pick the Bun runtime adapter from inside the bundle, come up against a real Postgres, stop
 * cleanly on SIGTERM, and refuse to start without DATABASE_URL. The binary is not rebuilt
 * here because `scripts/test` always builds first; a missing binary is a failure, not a skip,
 * so a broken build step cannot pass unnoticed.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { test } from "node:test";
import { findFreePort } from "../../src/embedded/mod.ts";
import { freshDatabase } from "../helpers/pg_cluster.ts";
import { waitFor } from "../helpers/wait.ts";

const BINARY = fileURLToPath(new URL("../../dist/electric", import.meta.url));
const EXIT_TIMEOUT_MS = 5_000;

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

interface Running {
  child: ChildProcess;
  output(): string;
  /** Set once the process has exited and its output streams are closed. */
  exit(): Exit | undefined;
  /** SIGKILL unless already exited; for `finally` so a failed assertion never leaks a child. */
  kill(): Promise<void>;
}

function requireBinary(): void {
  if (!existsSync(BINARY)) {
    assert.fail(`${BINARY} is missing: run \`deno task build\` first (scripts/test builds it).`);
  }
}

/** A clean environment so a DATABASE_URL in the runner's own environment cannot leak in. */
async function baseEnv(httpPort: number): Promise<Record<string, string>> {
  return {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    AUTH_MODE: "insecure",
    PG_PROXY_PASSWORD: "x",
    ELECTRIC_WRITE_TO_PG_MODE: "direct_writes",
    HTTP_PORT: String(httpPort),
    // Free ports for the other listeners too, so parallel test files never collide.
    PG_PROXY_PORT: String(await findFreePort()),
    LOGICAL_PUBLISHER_PORT: String(await findFreePort()),
  };
}

function start(env: Record<string, string>): Running {
  const child = spawn(BINARY, [], { env, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  let exit: Exit | undefined;
  child.stdout?.on("data", (chunk) => output += String(chunk));
  child.stderr?.on("data", (chunk) => output += String(chunk));
  const closed = new Promise<void>((resolve) => {
    child.on("close", (code, signal) => {
      exit = { code, signal };
      resolve();
    });
    child.on("error", (error) => {
      output += `\nspawn error: ${error.message}`;
      exit ??= { code: null, signal: null };
      resolve();
    });
  });
  return {
    child,
    output: () => output,
    exit: () => exit,
    kill: async () => {
      if (exit !== undefined) return;
      child.kill("SIGKILL");
      await closed;
    },
  };
}

async function waitForExit(service: Running, what: string): Promise<Exit> {
  try {
    return await waitFor(() => service.exit(), { timeoutMs: EXIT_TIMEOUT_MS, what });
  } catch (error) {
    throw new Error(`${(error as Error).message}\n--- service output ---\n${service.output()}`);
  }
}

async function statusCode(port: number): Promise<number | undefined> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}/api/status`, {
      signal: AbortSignal.timeout(1_000),
    });
    await response.body?.cancel();
    return response.status;
  } catch {
    return undefined; // Not listening yet.
  }
}

test("the binary serves /api/status and exits 0 on SIGTERM", { timeout: 60_000 }, async () => {
  requireBinary();
  const db = await freshDatabase();
  const httpPort = await findFreePort();
  const service = start({ ...await baseEnv(httpPort), DATABASE_URL: db.url });
  try {
    await waitFor(async () => {
      const exited = service.exit();
      if (exited) {
        throw new Error(
          `The binary exited early (${JSON.stringify(exited)}):\n${service.output()}`,
        );
      }
      return (await statusCode(httpPort)) === 200;
    }, { timeoutMs: 20_000, what: "/api/status to answer 200" });
    assert.match(service.output(), /on bun/, "the compiled binary should run the Bun adapter");

    // Not child.kill(): Deno's node:child_process then reports the signal instead of the code.
    process.kill(service.child.pid!, "SIGTERM");
    const exit = await waitForExit(service, "the binary to exit after SIGTERM");
    assert.deepEqual(exit, { code: 0, signal: null }, service.output());
  } finally {
    await service.kill();
    await db.drop();
  }
});

test("the binary exits 1 with a banner when DATABASE_URL is missing", async () => {
  requireBinary();
  const httpPort = await findFreePort();
  const service = start(await baseEnv(httpPort));
  try {
    const exit = await waitForExit(service, "the binary to exit without DATABASE_URL");
    assert.deepEqual(exit, { code: 1, signal: null }, service.output());
    assert.match(service.output(), /DATABASE_URL not set/);
    assert.doesNotMatch(service.output(), /listening on port/);
    assert.equal(await statusCode(httpPort), undefined, "nothing should listen on HTTP_PORT");
  } finally {
    await service.kill();
  }
});
