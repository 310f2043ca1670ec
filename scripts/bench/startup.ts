/**
 * Startup benchmark: time from spawn until `/api/status` answers 200 against a reachable
 * Postgres, and resident memory after a second of idling, for the compiled binary,
 * `bun src/main.ts` and `deno run -A src/main.ts`. Targets (issue 3): ready within 300 ms,
 * under 100 MB resident when idle.
 *
 *   deno run -A scripts/bench/startup.ts                        all three variants, updates docs
 *   deno run -A scripts/bench/startup.ts --binary dist/electric  one variant, prints only
 *   deno run -A scripts/bench/startup.ts --runtime bun           one variant, prints only
 *
 * Postgres: BENCH_DATABASE_URL if set, else a temporary embedded cluster. The first start
 * installs the electric schema, so one untimed bootstrap run precedes the measured warm starts.
 * Only a full run rewrites the "Startup" section of docs/benchmarks.md (between markers), so
 * the other sections of that file are left to their own benchmarks.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { findFreePort, startCluster } from "../../src/embedded/mod.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const DOC = join(ROOT, "docs", "benchmarks.md");
const RUNS = 10;
const POLL_MS = 5;
const IDLE_MS = 1_000;
const READY_TIMEOUT_MS = 30_000;
const TARGET_READY_MS = 300;
const TARGET_RSS_MB = 100;
const BEGIN = "<!-- startup:begin -->";
const END = "<!-- startup:end -->";

interface Variant {
  name: string;
  command: string;
  args: string[];
}

interface Sample {
  readyMs: number;
  rssMb: number;
}

function parseVariants(argv: string[]): { variants: Variant[]; full: boolean } {
  const binary = (path: string): Variant => ({
    name: `binary (\`${path}\`)`,
    command: resolve(ROOT, path),
    args: [],
  });
  const runtimes: Record<string, Variant> = {
    bun: { name: "`bun src/main.ts`", command: "bun", args: ["src/main.ts"] },
    deno: {
      name: "`deno run -A src/main.ts`",
      command: "deno",
      args: ["run", "-A", "src/main.ts"],
    },
  };
  const flag = argv[0];
  if (flag === undefined) {
    return { variants: [binary("dist/electric"), runtimes.bun, runtimes.deno], full: true };
  }
  if (flag === "--binary" && argv[1]) return { variants: [binary(argv[1])], full: false };
  if (flag === "--runtime" && runtimes[argv[1]]) {
    return { variants: [runtimes[argv[1]]], full: false };
  }
  console.error("Usage: startup.ts [--binary <path> | --runtime deno|bun]");
  process.exit(2);
}

async function serviceEnv(databaseUrl: string, httpPort: number): Promise<Record<string, string>> {
  return {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: process.env.HOME ?? "/tmp",
    DATABASE_URL: databaseUrl,
    AUTH_MODE: "insecure",
    PG_PROXY_PASSWORD: "x",
    ELECTRIC_WRITE_TO_PG_MODE: "direct_writes",
    HTTP_PORT: String(httpPort),
    PG_PROXY_PORT: String(await findFreePort()),
    LOGICAL_PUBLISHER_PORT: String(await findFreePort()),
  };
}

function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = Number(/^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1]);
  return kb / 1024;
}

async function isReady(port: number): Promise<boolean> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}/api/status`);
    await response.body?.cancel();
    return response.status === 200;
  } catch {
    return false; // Not listening yet.
  }
}

const pause = (ms: number) => new Promise((done) => setTimeout(done, ms));

/** SIGTERM, then the exit code; SIGKILL if it hangs so a bad run cannot stall the benchmark. */
function stop(child: ChildProcess): Promise<number | null> {
  return new Promise((done) => {
    if (child.exitCode !== null || child.signalCode !== null) return done(child.exitCode);
    const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
    child.once("exit", (code) => {
      clearTimeout(timer);
      done(code);
    });
    // process.kill, not child.kill: Deno's child_process then reports the signal, not the code.
    process.kill(child.pid!, "SIGTERM");
  });
}

async function runOnce(variant: Variant, databaseUrl: string): Promise<Sample> {
  const port = await findFreePort();
  const env = await serviceEnv(databaseUrl, port);
  const started = performance.now();
  const child = spawn(variant.command, variant.args, { cwd: ROOT, env, stdio: "pipe" });
  let output = "";
  child.stdout?.on("data", (chunk) => output += String(chunk));
  child.stderr?.on("data", (chunk) => output += String(chunk));
  try {
    while (!(await isReady(port))) {
      if (child.exitCode !== null || performance.now() - started > READY_TIMEOUT_MS) {
        throw new Error(`${variant.name} did not become ready:\n${output}`);
      }
      await pause(POLL_MS);
    }
    const readyMs = performance.now() - started;
    await pause(IDLE_MS);
    const sample = { readyMs, rssMb: rssMb(child.pid!) };
    const code = await stop(child);
    if (code !== 0) console.warn(`${variant.name} exited with ${code} after SIGTERM`);
    return sample;
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  }
}

function stats(values: number[]): { min: number; median: number; max: number } {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return { min: sorted[0], median, max: sorted[sorted.length - 1] };
}

function table(results: { variant: Variant; samples: Sample[] }[]): string {
  const lines = [
    "| Variant | Ready min (ms) | Ready median (ms) | Ready max (ms) | RSS min (MB) | RSS median (MB) | RSS max (MB) | Targets met |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | :---: |",
  ];
  for (const { variant, samples } of results) {
    const ready = stats(samples.map((s) => s.readyMs));
    const rss = stats(samples.map((s) => s.rssMb));
    const met = ready.max <= TARGET_READY_MS && rss.max < TARGET_RSS_MB ? "yes" : "no";
    const cells = [ready.min, ready.median, ready.max].map((v) => v.toFixed(0));
    const mem = [rss.min, rss.median, rss.max].map((v) => v.toFixed(1));
    lines.push(`| ${variant.name} | ${[...cells, ...mem].join(" | ")} | ${met} |`);
  }
  return lines.join("\n");
}

function versionOf(command: string, args: string[]): string {
  const result = spawnSync(command, args, { encoding: "utf8" });
  return result.status === 0 ? result.stdout.split("\n")[0].trim() : "unknown";
}

function denoVersion(): string {
  return versionOf("deno", ["--version"]).split(" ")[1] ?? "unknown";
}

function startupSection(tableText: string, postgresVersion: string): string {
  const cpu = cpus();
  return [
    BEGIN,
    "",
    "## Startup",
    "",
    "Time from spawning the process until `GET /api/status` first answers 200 (polled every",
    `${POLL_MS} ms) against a reachable Postgres whose electric schema is already installed (warm`,
    `start; one untimed bootstrap run precedes the measurements), and resident memory (VmRSS)`,
    `after ${IDLE_MS / 1000} s of idling. ${RUNS} runs per variant.`,
    `Targets: ready within ${TARGET_READY_MS} ms, under ${TARGET_RSS_MB} MB resident when idle.`,
    "",
    "```sh",
    "deno task build && deno run -A scripts/bench/startup.ts",
    "```",
    "",
    `- Date: ${new Date().toISOString().slice(0, 10)}`,
    `- Machine: ${cpu.length} cores (${cpu[0]?.model.trim() ?? "unknown CPU"}), Linux`,
    `- Runtimes: Bun ${versionOf("bun", ["--version"])}, Deno ${denoVersion()}`,
    `- Postgres: ${postgresVersion}`,
    "",
    tableText,
    "",
    END,
  ].join("\n");
}

const INTRO = `# Benchmarks

How fast the service starts, writes and proxies, measured by the scripts in \`scripts/bench/\`.
Each script starts its own temporary Postgres (or uses \`BENCH_DATABASE_URL\`), runs the
service as a child process exactly as it would run in production, and rewrites its own section
of this file. Numbers are from one machine and only comparable with each other.
`;

const PLACEHOLDERS = `
## Writes

Not measured yet (issues 5 and 6).

## Proxy

Not measured yet (issues 5 and 6).
`;

function writeDoc(section: string): void {
  const current = existsSync(DOC) ? readFileSync(DOC, "utf8") : undefined;
  const begin = current?.indexOf(BEGIN) ?? -1;
  const end = current?.indexOf(END) ?? -1;
  let next: string;
  if (current === undefined) next = `${INTRO}\n${section}\n${PLACEHOLDERS}`;
  else if (begin >= 0 && end > begin) {
    next = current.slice(0, begin) + section + current.slice(end + END.length);
  } else next = `${current.trimEnd()}\n\n${section}\n`;
  writeFileSync(DOC, next);
  // Generated Markdown goes through the project formatter so `deno fmt --check` stays clean.
  spawnSync("deno", ["fmt", "--quiet", DOC], { cwd: ROOT, stdio: "inherit" });
}

async function withDatabase<T>(body: (url: string, pgVersion: string) => Promise<T>): Promise<T> {
  const pgVersion = (url: string) => {
    const result = spawnSync("psql", [url, "-Atc", "show server_version"], { encoding: "utf8" });
    return result.status === 0 ? `PostgreSQL ${result.stdout.trim()}` : "PostgreSQL";
  };
  const fromEnv = process.env.BENCH_DATABASE_URL;
  if (fromEnv) return body(fromEnv, pgVersion(fromEnv));
  const tempDir = mkdtempSync(join(tmpdir(), "electric-bench-pg-"));
  try {
    const started = await startCluster({ dataDir: join(tempDir, "pgdata") });
    if (!started.ok) throw new Error(`Postgres failed to start: ${started.error.message}`);
    try {
      return await body(started.cluster.url, pgVersion(started.cluster.url));
    } finally {
      await started.cluster.stop();
    }
  } finally {
    rmSync(tempDir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const { variants, full } = parseVariants(process.argv.slice(2));
  for (const variant of variants) {
    if (variant.args.length === 0 && !existsSync(variant.command)) {
      throw new Error(`${variant.command} is missing: run \`deno task build\` first.`);
    }
  }
  await withDatabase(async (url, pgVersion) => {
    console.log(`Bootstrapping the electric schema with ${variants[0].name}...`);
    await runOnce(variants[0], url);
    const results = [];
    for (const variant of variants) {
      const samples: Sample[] = [];
      for (let i = 0; i < RUNS; i++) samples.push(await runOnce(variant, url));
      console.log(`${variant.name}: done`);
      results.push({ variant, samples });
    }
    const tableText = table(results);
    console.log(`\n${tableText}\n`);
    if (full) {
      writeDoc(startupSection(tableText, pgVersion));
      console.log(`Updated ${DOC}`);
    }
  });
}

await main();
