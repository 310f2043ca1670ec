/**
 * Shared set-up of the proxy integration tests: a fresh database with the electric schema,
 * a MigrationsProxy on a free port in this process, and helpers to reach it.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { connect as netConnect } from "node:net";
import { fileURLToPath } from "node:url";
import postgres from "postgres";
import { type Config } from "../../src/config/mod.ts";
import {
  type BackendMessage,
  concatBytes,
  decodeBackend,
  encodeFrontend,
  encodeStartup,
  type FrontendMessage,
  PROTOCOL_3_0,
  readFrame,
} from "../../src/pgwire/wire.ts";
import { MigrationsProxy } from "../../src/proxy/mod.ts";
import { bootstrapElectricSchema, ensurePublication } from "../../src/storage/mod.ts";
import { createLogger } from "../../src/telemetry/mod.ts";
import { findFreePort } from "../../src/embedded/mod.ts";
import { freshDatabase } from "../helpers/pg_cluster.ts";
import { testConfig } from "../helpers/service_config.ts";
import { waitFor } from "../helpers/wait.ts";

export const PROXY_PASSWORD = "proxy_password";
export const PSQL = "/usr/bin/psql";

export interface ProxyHarness {
  /** A direct connection to the test database. */
  sql: postgres.Sql;
  dbUrl: string;
  port: number;
  config: Readonly<Config>;
  logs: string[];
  /** A postgres.js client through the proxy. */
  client(options?: postgres.Options<Record<string, never>>): postgres.Sql;
  proxyUrl(user?: string, password?: string): string;
  stop(): Promise<void>;
}

export async function startProxy(
  options: { env?: Record<string, string>; ddlGuard?: boolean; dbUrl?: string } = {},
): Promise<ProxyHarness> {
  const db = options.dbUrl ? undefined : await freshDatabase();
  const dbUrl = options.dbUrl ?? db!.url;
  const sql = postgres(dbUrl, { max: 2, onnotice: () => {} });
  await bootstrapElectricSchema(sql, { ddlGuard: options.ddlGuard ?? true });
  await ensurePublication(sql);
  const config = testConfig(dbUrl, options.env ?? {});
  const logs: string[] = [];
  const logger = createLogger({ level: "debug", write: (line) => logs.push(line) });
  const proxy = new MigrationsProxy({ config, logger, port: 0, hostname: "127.0.0.1" });
  const abort = new AbortController();
  const running = proxy.run(abort.signal);
  await proxy.listening;
  const clients: postgres.Sql[] = [];
  const proxyUrl = (user = "postgres", password = PROXY_PASSWORD) =>
    `postgresql://${user}:${
      encodeURIComponent(password)
    }@127.0.0.1:${proxy.port}/electric?sslmode=disable`;
  return {
    sql,
    dbUrl,
    port: proxy.port,
    config,
    logs,
    proxyUrl,
    client(clientOptions = {}) {
      const client = postgres(proxyUrl(), { max: 1, onnotice: () => {}, ...clientOptions });
      clients.push(client);
      return client;
    },
    async stop() {
      await Promise.all(clients.map((c) => c.end({ timeout: 1 })));
      abort.abort();
      await running;
      await sql.end({ timeout: 1 });
      await db?.drop();
    },
  };
}

export interface PsqlResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs psql against the proxy with the password in the environment. */
export function psql(
  port: number,
  args: string[],
  input?: string,
  password = PROXY_PASSWORD,
): Promise<PsqlResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(PSQL, [
      "-h",
      "127.0.0.1",
      "-p",
      String(port),
      "-U",
      "postgres",
      "-d",
      "electric",
      "-X",
      ...args,
    ], {
      env: { ...process.env, PGPASSWORD: password, PGSSLMODE: "disable", PGCONNECT_TIMEOUT: "10" },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => stdout += d);
    child.stderr.on("data", (d) => stderr += d);
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(input ?? "");
  });
}

/** The SQLSTATE of a rejected postgres.js query. */
export async function errorOf(query: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await query;
  } catch (error) {
    const e = error as { code: string; message: string };
    return { code: e.code, message: e.message };
  }
  throw new Error("expected the statement to fail");
}

/** A bare protocol client over TCP, speaking through the codec, for byte-level tests. */
export class WireClient {
  #socket: import("node:net").Socket;
  #buffer: Uint8Array = new Uint8Array(0);
  #waiters: (() => void)[] = [];
  closed = false;

  private constructor(socket: import("node:net").Socket) {
    this.#socket = socket;
    socket.on("data", (chunk: Uint8Array) => {
      this.#buffer = concatBytes([this.#buffer, chunk]);
      this.#wake();
    });
    socket.on("close", () => {
      this.closed = true;
      this.#wake();
    });
    socket.on("error", () => {});
  }

  #wake(): void {
    for (const w of this.#waiters.splice(0)) w();
  }

  static connect(port: number): Promise<WireClient> {
    return new Promise((resolve, reject) => {
      const socket = netConnect({ host: "127.0.0.1", port }, () => resolve(new WireClient(socket)));
      socket.once("error", reject);
    });
  }

  /** Connects and authenticates with the password as a startup parameter. */
  static async open(port: number, user = "postgres"): Promise<WireClient> {
    const c = await WireClient.connect(port);
    c.write(encodeStartup({
      type: "StartupMessage",
      protocolVersion: PROTOCOL_3_0,
      parameters: { user, database: "electric", password: PROXY_PASSWORD },
    }));
    await c.untilReady();
    return c;
  }

  write(bytes: Uint8Array): void {
    this.#socket.write(bytes);
  }

  send(...messages: FrontendMessage[]): void {
    this.write(concatBytes(messages.map(encodeFrontend)));
  }

  /** The next raw bytes (at least `n`), or what is left when the server closes. */
  async bytes(n: number, timeoutMs = 5000): Promise<Uint8Array> {
    const deadline = Date.now() + timeoutMs;
    while (this.#buffer.length < n && !this.closed) {
      if (Date.now() > deadline) throw new Error("timed out waiting for bytes");
      await new Promise<void>((resolve) => {
        this.#waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
    const out = this.#buffer.subarray(0, n);
    this.#buffer = this.#buffer.subarray(out.length);
    return out;
  }

  /** The next backend message, or undefined when the connection closed. */
  async next(timeoutMs = 5000): Promise<BackendMessage | undefined> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const read = readFrame(this.#buffer, 0, 1 << 30);
      if (read.kind === "frame") {
        this.#buffer = this.#buffer.subarray(read.consumed);
        const decoded = decodeBackend(read.frame);
        if (!decoded.ok) throw new Error(decoded.error.message);
        return decoded.message;
      }
      if (read.kind === "error") throw new Error(read.error.message);
      if (this.closed) return undefined;
      if (Date.now() > deadline) throw new Error("timed out waiting for a message");
      await new Promise<void>((resolve) => {
        this.#waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
  }

  /** Messages up to and including ReadyForQuery (or until the connection closes). */
  async untilReady(timeoutMs = 5000): Promise<BackendMessage[]> {
    const out: BackendMessage[] = [];
    for (;;) {
      const m = await this.next(timeoutMs);
      if (!m) return out;
      out.push(m);
      if (m.type === "ReadyForQuery") return out;
    }
  }

  close(): void {
    this.#socket.destroy();
  }
}

/** Short names of messages: `C:ELECTRIC ENABLE`, `Z:I`, `E:EX010`, … */
export function summary(messages: BackendMessage[]): string[] {
  return messages.map((m) => {
    switch (m.type) {
      case "CommandComplete":
        return `C:${m.tag}`;
      case "ReadyForQuery":
        return `Z:${m.status}`;
      case "ErrorResponse":
        return `E:${m.fields.C}`;
      case "NoticeResponse":
        return `N:${m.fields.C}`;
      default:
        return m.type;
    }
  });
}

/** The real client's CLI (installed with the interop suite); tunnel tests skip without it. */
export const ELECTRIC_CLI = fileURLToPath(
  new URL("../interop/node_modules/.bin/electric-sql", import.meta.url),
);
export const hasElectricCli = existsSync(ELECTRIC_CLI);

/**
 * Runs the real `electric-sql proxy-tunnel` against the service's HTTP port until it listens
 * on a local port; `output()` is what it printed, `stop()` ends it.
 */
export async function startProxyTunnel(httpPort: number): Promise<{
  port: number;
  output: () => string;
  stop: () => void;
}> {
  const port = await findFreePort();
  const child: ChildProcess = spawn(
    "node",
    [
      ELECTRIC_CLI,
      "proxy-tunnel",
      "--service",
      `http://127.0.0.1:${httpPort}`,
      "--local-port",
      String(port),
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let output = "";
  child.stdout!.on("data", (d) => output += d);
  child.stderr!.on("data", (d) => output += d);
  try {
    await waitFor(() => output.includes(`listening on port ${port}`), {
      timeoutMs: 20_000,
      what: () => `the tunnel to listen:\n${output}`,
    });
  } catch (error) {
    child.kill();
    throw error;
  }
  return { port, output: () => output, stop: () => child.kill() };
}
