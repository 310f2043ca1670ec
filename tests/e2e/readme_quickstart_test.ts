/**
 * The README's first command, run as a newcomer runs it: in a fresh copy of the project (what a
 * clone holds: tracked and new, not ignored, files), the command line from the Quick start
 * block exactly as printed, through a shell. Then what the newcomer does next: `/api/status`,
 * a table created and electrified through the migrations proxy with `psql`, the migration
 * served by `/api/migrations`, and Ctrl-C (SIGINT to the whole process group, as a terminal
 * sends it) ending everything cleanly, the local Postgres included.
 *
 * Under Bun the same copy runs the README's Bun variant (`npx bun src/main.ts --dev`).
 * Ports are the only thing changed (by environment), so a developer's running service or a
 * parallel test cannot collide with this one.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { type ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import postgres from "postgres";
import { findFreePort, readPostmasterPid } from "../../src/embedded/mod.ts";
import { readZip } from "../helpers/unzip.ts";
import { waitFor } from "../helpers/wait.ts";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const README = readFileSync(join(ROOT, "README.md"), "utf8");

/** The first line of the Quick start's shell block, without its comment. */
export function quickStartCommand(readme: string): string {
  const section = readme.split(/^## Quick start$/m)[1] ?? "";
  const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1] ?? "";
  const first = block.split("\n").find((line) => line.trim() !== "") ?? "";
  return first.replace(/\s+#.*$/, "").trim();
}

/** The files a clone of the project would hold, copied into a fresh folder. */
function freshCopy(): string {
  const dir = mkdtempSync(join(tmpdir(), "electric-readme-"));
  // Dev mode runs Postgres as the `postgres` user when root: it must reach the data folder.
  chmodSync(dir, 0o755);
  const files = execFileSync("git", [
    "ls-files",
    "-z",
    "--cached",
    "--others",
    "--exclude-standard",
  ], {
    cwd: ROOT,
    maxBuffer: 64 * 1024 * 1024,
  }).toString("utf8").split("\0").filter((f) => f !== "" && existsSync(join(ROOT, f)));
  const tar = spawnSync("tar", ["-cf", "-", "--null", "-T", "-"], {
    cwd: ROOT,
    input: files.join("\0"),
    maxBuffer: 1024 * 1024 * 1024,
  });
  assert.equal(tar.status, 0, String(tar.stderr));
  const untar = spawnSync("tar", ["-xf", "-"], { cwd: dir, input: tar.stdout });
  assert.equal(untar.status, 0, String(untar.stderr));
  mkdirSync(join(dir, ".electric"), { recursive: true });
  return dir;
}

function psqlAvailable(): boolean {
  return spawnSync("psql", ["--version"]).status === 0;
}

/** Runs SQL through the proxy as the banner says: `psql "<url>" -c "<sql>"` (postgres.js without psql). */
async function throughProxy(url: string, sql: string): Promise<string> {
  if (psqlAvailable()) {
    const run = spawnSync("psql", [url, "-v", "ON_ERROR_STOP=1", "-c", sql], { encoding: "utf8" });
    assert.equal(run.status, 0, `psql failed: ${run.stderr}`);
    return run.stdout;
  }
  const client = postgres(url, { max: 1, onnotice: () => {} });
  try {
    await client.unsafe(sql).simple();
    return "";
  } finally {
    await client.end();
  }
}

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    process.kill(-child.pid!, signal);
  } catch {
    // Already gone.
  }
}

test("README quick start: the first command starts the service a newcomer can use", async () => {
  const command = quickStartCommand(README);
  assert.match(command, /^npm ci && npx deno task dev$/, "the README's first command");
  const run = "Deno" in globalThis ? command : "npm ci && npx bun src/main.ts --dev";
  const dir = freshCopy();
  const httpPort = await findFreePort();
  const proxyPort = await findFreePort();
  const child = spawn("bash", ["-c", run], {
    cwd: dir,
    detached: true, // its own process group, as a terminal's foreground job
    env: {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      HOME: process.env.HOME ?? "/tmp",
      npm_config_prefer_offline: "true",
      npm_config_audit: "false",
      npm_config_fund: "false",
      HTTP_PORT: String(httpPort),
      PG_PROXY_PORT: String(proxyPort),
      LOGICAL_PUBLISHER_PORT: String(await findFreePort()),
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout!.on("data", (chunk) => output += String(chunk));
  child.stderr!.on("data", (chunk) => output += String(chunk));
  const exited = new Promise<number | string>((resolve) =>
    child.on("exit", (code, signal) => resolve(code ?? signal ?? "unknown"))
  );
  const dataDir = join(dir, ".electric", "pgdata");
  try {
    await waitFor(() => /Electric is ready/.test(output) || child.exitCode !== null, {
      timeoutMs: 240_000,
      intervalMs: 100,
      what: `the ready banner; output so far:\n${output}`,
    });
    assert.equal(child.exitCode, null, `exited early:\n${output}`);
    const status = await fetch(`http://localhost:${httpPort}/api/status`);
    assert.deepEqual([status.status, await status.text()], [200, "Connection to Postgres is up!"]);

    // The banner's own next step, pasted.
    const proxyUrl = /psql "([^"]+)"/.exec(output)?.[1];
    assert.ok(proxyUrl, `the banner shows a psql command:\n${output}`);
    assert.match(proxyUrl!, new RegExp(`:${proxyPort}/`));
    const sql = /psql "[^"]+" -c "([^"]+)"/.exec(output)![1];
    await throughProxy(proxyUrl!, sql);

    const migrations = await waitFor(async () => {
      const res = await fetch(`http://localhost:${httpPort}/api/migrations?dialect=sqlite`);
      if (res.status !== 200) {
        await res.body?.cancel();
        return undefined;
      }
      return new Uint8Array(await res.arrayBuffer());
    }, { timeoutMs: 20_000, what: "GET /api/migrations to serve the new migration" });
    const files = [...readZip(migrations).values()].join("\n");
    assert.match(files, /CREATE TABLE "items"/, "the migration creates the new table");

    signalGroup(child, "SIGINT");
    const code = await Promise.race([
      exited,
      new Promise<string>((resolve) => setTimeout(() => resolve("still running"), 30_000)),
    ]);
    // The shell in front reports Ctrl-C as a terminal does (killed by SIGINT, or 130 from
    // npx); what matters is that the service itself stopped in order.
    assert.ok([0, 130, "SIGINT"].includes(code), `Ctrl-C ends it (${code}):\n${output}`);
    await waitFor(() => /\[info\] Stopped\./.test(output), {
      timeoutMs: 10_000,
      what: `the service's orderly stop; output:\n${output}`,
    });
    await waitFor(() => readPostmasterPid(dataDir) === undefined, {
      timeoutMs: 10_000,
      what: "the local Postgres to stop",
    });
    assert.doesNotMatch(output, /\[error\]|Uncaught|SyntaxError/, output);
  } finally {
    if (child.exitCode === null) signalGroup(child, "SIGKILL");
    const lock = readPostmasterPid(dataDir);
    if (lock) {
      try {
        process.kill(lock.pid, "SIGQUIT");
      } catch {
        // Gone.
      }
    }
    await exited;
    rmSync(dir, { recursive: true, force: true });
  }
});
