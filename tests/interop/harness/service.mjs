/**
 * The sync service as a child process, under the runtime named by `INTEROP_RUNTIME`:
 * `deno` (`deno run -A src/main.ts`), `bun` (`bun src/main.ts`) or `binary` (`dist/electric`,
 * built by `bash scripts/build`), from this checkout or from INTEROP_SERVICE_DIR. Output is
 * collected for failure messages; readiness is observed by polling `GET /api/status`, never by
 * sleeping.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { freePort, waitFor, withTimeout } from "./wait.mjs";

const REPO = fileURLToPath(new URL("../../../", import.meta.url));
/** The service checkout to run; INTEROP_SERVICE_DIR points at another one (e.g. a release). */
const ROOT = process.env.INTEROP_SERVICE_DIR
  ? `${process.env.INTEROP_SERVICE_DIR.replace(/\/+$/, "")}/`
  : REPO;
/** deno and bun come from this repository's devDependencies. */
const BIN = `${REPO}node_modules/.bin`;

/** @typedef {"deno" | "bun" | "binary"} Runtime */

/** @returns {Runtime} */
export function currentRuntime() {
  const name = process.env.INTEROP_RUNTIME ?? "deno";
  if (name !== "deno" && name !== "bun" && name !== "binary") {
    throw new Error(
      `Unknown INTEROP_RUNTIME "${name}": expected deno, bun or binary`,
    );
  }
  return name;
}

/**
 * @param {Runtime} runtime
 * @returns {{ command: string, args: string[] }}
 */
export function serviceCommand(runtime) {
  const main = `${ROOT}src/main.ts`;
  switch (runtime) {
    case "deno":
      return { command: `${BIN}/deno`, args: ["run", "-A", main] };
    case "bun":
      return { command: `${BIN}/bun`, args: [main] };
    case "binary": {
      const binary = `${ROOT}dist/electric`;
      if (!existsSync(binary)) {
        throw new Error(`${binary} is missing: run \`bash scripts/build\``);
      }
      return { command: binary, args: [] };
    }
  }
}

/**
 * @typedef {object} Service
 * @property {Runtime} runtime
 * @property {number} httpPort
 * @property {number} proxyPort
 * @property {string} proxyPassword
 * @property {number} publisherPort
 * @property {string} url base URL of the HTTP API, also what the client is given
 * @property {() => string} output everything the service wrote so far
 * @property {Promise<number | string>} exited exit code or signal name
 * @property {() => Promise<number | string>} stop SIGTERM, then SIGKILL after 10 s
 * @property {(signal?: NodeJS.Signals) => Promise<number | string>} kill sends `signal`
 *   (default SIGKILL) and resolves when the process has exited
 */

/**
 * Starts the service against `databaseUrl` and waits until `/api/status` answers 200.
 * Pass `httpPort` (and optionally `proxyPort`/`publisherPort`) to restart a service on the ports
 * of a previous instance, e.g. so that connected clients reconnect to it by themselves.
 * @param {{ databaseUrl: string, env?: Record<string, string>, runtime?: Runtime, readyTimeoutMs?: number, httpPort?: number, proxyPort?: number, publisherPort?: number }} options
 * @returns {Promise<Service>}
 */
export async function startService(options) {
  const runtime = options.runtime ?? currentRuntime();
  const { command, args } = serviceCommand(runtime);
  const httpPort = options.httpPort ?? await freePort();
  const proxyPort = options.proxyPort ?? await freePort();
  const publisherPort = options.publisherPort ?? await freePort();
  const proxyPassword = "interop_proxy_password";
  const env = {
    PATH: process.env.PATH ?? "",
    HOME: process.env.HOME ?? "/tmp",
    TZ: "UTC",
    DATABASE_URL: options.databaseUrl,
    AUTH_MODE: "insecure",
    PG_PROXY_PASSWORD: proxyPassword,
    ELECTRIC_WRITE_TO_PG_MODE: process.env.INTEROP_WRITE_MODE ?? "direct_writes",
    LOGICAL_PUBLISHER_HOST: "127.0.0.1",
    HTTP_PORT: String(httpPort),
    PG_PROXY_PORT: String(proxyPort),
    LOGICAL_PUBLISHER_PORT: String(publisherPort),
    LOG_LEVEL: process.env.INTEROP_SERVICE_LOG_LEVEL ?? "debug",
    ...options.env,
  };
  const child = spawn(command, args, {
    env,
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.on("data", (chunk) => (output += chunk));
  child.stderr.on("data", (chunk) => (output += chunk));
  /** @type {Promise<number | string>} */
  const exited = new Promise((resolve) => {
    child.on("exit", (code, signal) => resolve(code ?? signal ?? "unknown"));
    child.on("error", (error) => {
      output += `\n[spawn error] ${error.message}\n`;
      resolve("spawn-error");
    });
  });
  const running = () => child.exitCode === null && child.signalCode === null;
  /** @param {NodeJS.Signals} signal */
  const send = (signal) => {
    try {
      if (running() && child.pid) process.kill(child.pid, signal);
    } catch { /* already gone */ }
  };
  const onExit = () => send("SIGKILL");
  process.on("exit", onExit);

  const service = {
    runtime,
    httpPort,
    proxyPort,
    proxyPassword,
    publisherPort,
    url: `http://127.0.0.1:${httpPort}`,
    output: () => output,
    exited,
    async stop() {
      process.off("exit", onExit);
      send("SIGTERM");
      const timer = setTimeout(() => send("SIGKILL"), 10_000);
      const result = await exited;
      clearTimeout(timer);
      return result;
    },
    /** @param {NodeJS.Signals} [signal] */
    async kill(signal = "SIGKILL") {
      send(signal);
      const result = await exited;
      process.off("exit", onExit);
      return result;
    },
  };

  try {
    await waitFor(async () => {
      if (!running()) {
        throw new Error(
          `The service (${runtime}) exited (${
            child.exitCode ?? child.signalCode
          }) before it was ready`,
        );
      }
      try {
        const res = await withTimeout(
          fetch(`${service.url}/api/status`),
          2000,
          () => "status timeout",
        );
        await res.body?.cancel();
        return res.status === 200;
      } catch {
        return false;
      }
    }, {
      timeoutMs: options.readyTimeoutMs ?? 60_000,
      intervalMs: 50,
      what: `GET /api/status to answer 200 (${runtime})`,
    });
  } catch (error) {
    await service.stop();
    throw new Error(
      `${
        /** @type {Error} */ (error).message
      }\n--- service output ---\n${output}`,
    );
  }
  return service;
}
