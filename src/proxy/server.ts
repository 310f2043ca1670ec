/**
 * The proxy's transport: a TCP listener, one client socket and one upstream socket per
 * session, bytes cut into frames and handed to the session state machine, whose output is
 * written back. `node:net`/`node:tls` rather than `src/runtime/`: Deno and Bun implement them
 * alike, so one file serves both runtimes and the compiled binary.
 *
 * Ordering: client input is handled on one promise chain per connection, because SQL is parsed
 * (asynchronously) before the session sees it; upstream input is handled synchronously.
 * Backpressure: when one side's socket buffers too much, reading from the other side pauses.
 */
import { connect as netConnect, createServer, type Server, type Socket } from "node:net";
import { connect as tlsConnect } from "node:tls";
import { randomBytes } from "node:crypto";
import { type Config, featureEnabled } from "../config/mod.ts";
import {
  concatBytes,
  encodeStartup,
  type Frame,
  readFrame,
  readStartupPacket,
  type WireError,
} from "../pgwire/mod.ts";
import { resolveDatabaseHost } from "../storage/mod.ts";
import type { Logger } from "../telemetry/mod.ts";
import { parseSql, quickParse } from "./parse_sql.ts";
import {
  expectsStartupPacket,
  initialSession,
  type Output,
  type SessionEvent,
  type SessionOptions,
  type SessionState,
  step,
  wantsParsedSql,
} from "./session.ts";

/** Largest message accepted from a client (Postgres's own limit for most messages is 1 GB). */
const MAX_CLIENT_MESSAGE = 256 * 1024 * 1024;
const MAX_UPSTREAM_MESSAGE = 1024 * 1024 * 1024;

export interface ProxyServerOptions {
  config: Readonly<Config>;
  logger: Logger;
  /** Overrides `config.proxy.port` (0 picks a free port). */
  port?: number;
  hostname?: string;
}

export class ProxyServer {
  #options: ProxyServerOptions;
  #server?: Server;
  #sessions = new Set<Socket>();
  #nextId = 1;

  constructor(options: ProxyServerOptions) {
    this.#options = options;
  }

  get port(): number {
    const address = this.#server?.address();
    return typeof address === "object" && address ? address.port : 0;
  }

  listen(): Promise<{ ok: true } | { ok: false; code: string; message: string }> {
    const { config } = this.#options;
    const server = createServer({ noDelay: true }, (socket) => this.#accept(socket));
    this.#server = server;
    const port = this.#options.port ?? config.proxy.port;
    const hostname = this.#options.hostname ?? (config.listenIpv6 ? "::" : "0.0.0.0");
    return new Promise((resolve) => {
      server.once("error", (error: NodeJS.ErrnoException) =>
        resolve({
          ok: false,
          code: error.code === "EADDRINUSE" ? "ADDRESS_IN_USE" : "LISTEN_FAILED",
          message: error.message,
        }));
      server.listen({ port, host: hostname }, () => resolve({ ok: true }));
    });
  }

  async close(): Promise<void> {
    for (const socket of this.#sessions) socket.destroy();
    await new Promise<void>((resolve) =>
      this.#server ? this.#server.close(() => resolve()) : resolve()
    );
  }

  #accept(client: Socket): void {
    const id = this.#nextId++;
    this.#sessions.add(client);
    client.once("close", () => this.#sessions.delete(client));
    new Connection(client, id, this.#options).start();
  }
}

function sessionOptions(config: Readonly<Config>): SessionOptions {
  return {
    password: config.proxy.password,
    upstream: {
      user: config.database.user,
      password: config.database.password,
      database: config.database.database,
    },
    featureEnabled: (name) => featureEnabled(config, name),
    randomBytes: (n) => new Uint8Array(randomBytes(n)),
    now: () => new Date(),
  };
}

/** Accumulates bytes and cuts frames off the front. */
class FrameBuffer {
  #buffer: Uint8Array = new Uint8Array(0);
  #offset = 0;

  push(chunk: Uint8Array): void {
    if (this.#offset >= this.#buffer.length) {
      this.#buffer = chunk;
    } else {
      this.#buffer = concatBytes([this.#buffer.subarray(this.#offset), chunk]);
    }
    this.#offset = 0;
  }

  get view(): Uint8Array {
    return this.#buffer.subarray(this.#offset);
  }

  consume(n: number): void {
    this.#offset += n;
  }
}

class Connection {
  #client: Socket;
  #upstream?: Socket;
  #id: number;
  #options: ProxyServerOptions;
  #logger: Logger;
  #state: SessionState;
  #clientIn = new FrameBuffer();
  #upstreamIn = new FrameBuffer();
  #chain: Promise<void> = Promise.resolve();
  #closed = false;
  #tracing: boolean;

  constructor(client: Socket, id: number, options: ProxyServerOptions) {
    this.#client = client;
    this.#id = id;
    this.#options = options;
    this.#logger = options.logger.child({ proxy_session_id: id });
    this.#state = initialSession(sessionOptions(options.config));
    this.#tracing = options.config.proxy.tracing;
  }

  start(): void {
    const client = this.#client;
    client.setNoDelay(true);
    client.on("data", (chunk: Uint8Array) => {
      this.#chain = this.#chain.then(() => this.#onClientData(chunk)).catch((error) =>
        this.#crash(error)
      );
    });
    client.on("error", () => this.#close());
    client.on("close", () => this.#close());
    client.on("drain", () => this.#upstream?.resume());
  }

  #crash(error: unknown): void {
    this.#logger.error(`Proxy session failed: ${(error as Error)?.message ?? String(error)}`);
    this.#close();
  }

  #close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#client.destroy();
    this.#upstream?.destroy();
  }

  #apply(event: SessionEvent): void {
    if (this.#closed) return;
    const { state, out } = step(this.#state, event);
    this.#state = state;
    this.#write(out);
  }

  #write(out: Output): void {
    for (const entry of out.logs) this.#logger[entry.level](entry.message);
    if (this.#tracing) this.#trace(out);
    if (out.toUpstream.length > 0 && this.#upstream) {
      if (!this.#upstream.write(concatBytes(out.toUpstream))) this.#client.pause();
    }
    if (out.toClient.length > 0) {
      if (!this.#client.write(concatBytes(out.toClient))) this.#upstream?.pause();
    }
    if (out.cancel) void this.#forwardCancel(out.cancel);
    if (out.connectUpstream) void this.#connectUpstream();
    if (out.close) {
      this.#closed = true;
      this.#client.end(() => this.#client.destroy());
      this.#upstream?.end();
    }
  }

  #trace(out: Output): void {
    const tags = (parts: Uint8Array[]) =>
      parts.map((p) => String.fromCharCode(p[0] ?? 32)).join("");
    if (out.toClient.length > 0) console.log(`[${this.#id}] -▶ client ${tags(out.toClient)}`);
    if (out.toUpstream.length > 0) console.log(`[${this.#id}] server ◀- ${tags(out.toUpstream)}`);
  }

  async #onClientData(chunk: Uint8Array): Promise<void> {
    this.#clientIn.push(chunk);
    while (!this.#closed) {
      const buf = this.#clientIn.view;
      if (expectsStartupPacket(this.#state)) {
        const read = readStartupPacket(buf);
        if (read.kind === "incomplete") return;
        if (read.kind === "error") {
          return this.#apply({ type: "client_malformed", error: read.error });
        }
        this.#clientIn.consume(read.consumed);
        this.#apply({ type: "startup", packet: read.packet });
        continue;
      }
      const read = readFrame(buf, 0, MAX_CLIENT_MESSAGE);
      if (read.kind === "incomplete") return;
      if (read.kind === "error") {
        return this.#apply({ type: "client_malformed", error: read.error });
      }
      this.#clientIn.consume(read.consumed);
      const frame = copyFrame(read.frame);
      const sql = wantsParsedSql(this.#state) ? sqlOf(frame) : undefined;
      const simple = frame.tag === 0x51;
      const parsed = sql === undefined
        ? undefined
        : quickParse(sql, simple) ?? await parseSql(sql, simple);
      this.#apply({ type: "client", frame, ...(parsed ? { parsed } : {}) });
    }
  }

  #onUpstreamData(chunk: Uint8Array): void {
    this.#upstreamIn.push(chunk);
    const buf = this.#upstreamIn.view;
    const frames: Frame[] = [];
    let offset = 0;
    let error: WireError | undefined;
    for (;;) {
      const read = readFrame(buf, offset, MAX_UPSTREAM_MESSAGE);
      if (read.kind === "incomplete") break;
      if (read.kind === "error") {
        error = read.error;
        break;
      }
      frames.push(read.frame);
      offset += read.consumed;
    }
    this.#upstreamIn.consume(offset);
    if (frames.length > 0) this.#apply({ type: "upstream", frames });
    if (error) this.#apply({ type: "upstream_malformed", error });
  }

  async #openUpstream(): Promise<Socket> {
    const { database } = this.#options.config;
    const resolved = await resolveDatabaseHost(database.host, database.useIpv6);
    if (!resolved.ok) throw new Error(resolved.error.message);
    let socket = await tcpConnect(resolved.address, database.port, database.connectTimeoutMs);
    if (database.sslMode !== "disable") {
      socket.write(encodeStartup({ type: "SSLRequest" }));
      const answer = await readOneByte(socket);
      if (answer === 0x53) { // 'S': upgrade to TLS
        socket = await new Promise<Socket>((resolve, reject) => {
          const tls = tlsConnect({
            socket,
            rejectUnauthorized: database.requireSsl,
            ...(database.requireSsl ? { servername: database.host } : {}),
          }, () => resolve(tls));
          tls.once("error", reject);
        });
      } else if (answer !== 0x4e) { // 'N': continue in plain text
        throw new Error("Postgres answered the SSL request with an unexpected byte");
      }
    }
    return socket;
  }

  async #connectUpstream(): Promise<void> {
    let upstream: Socket;
    try {
      upstream = await this.#openUpstream();
    } catch (error) {
      this.#chain = this.#chain.then(() =>
        this.#apply({ type: "upstream_failed", message: (error as Error).message })
      );
      return;
    }
    if (this.#closed) {
      upstream.destroy();
      return;
    }
    this.#upstream = upstream;
    upstream.setNoDelay?.(true);
    upstream.on("data", (chunk: Uint8Array) => {
      try {
        this.#onUpstreamData(chunk);
      } catch (error) {
        this.#crash(error);
      }
    });
    upstream.on("drain", () => this.#client.resume());
    upstream.on("error", (error) => this.#upstreamGone(error.message));
    upstream.on("close", () => this.#upstreamGone("closed"));
    upstream.resume();
    this.#apply({ type: "upstream_connected" });
  }

  #upstreamGone(message: string): void {
    if (this.#closed) return;
    this.#apply({ type: "upstream_failed", message });
    this.#close();
  }

  async #forwardCancel(key: { processId: number; secretKey: number }): Promise<void> {
    try {
      const upstream = await this.#openUpstream();
      upstream.end(encodeStartup({ type: "CancelRequest", ...key }));
    } catch (error) {
      this.#logger.warning(`Could not forward a cancel request: ${(error as Error).message}`);
    }
  }
}

/** Client frames may outlive the chunk they came in (held in a unit): copy them. */
function copyFrame(frame: Frame): Frame {
  const raw = frame.raw.slice();
  return { tag: frame.tag, raw, body: raw.subarray(5) };
}

function sqlOf(frame: Frame): string | undefined {
  const body = frame.body;
  if (frame.tag === 0x51) { // 'Q' Query
    const end = body.indexOf(0);
    return new TextDecoder().decode(body.subarray(0, end < 0 ? body.length : end));
  }
  if (frame.tag === 0x50) { // 'P' Parse: name, then the query text
    const nameEnd = body.indexOf(0);
    if (nameEnd < 0) return undefined;
    const end = body.indexOf(0, nameEnd + 1);
    return new TextDecoder().decode(body.subarray(nameEnd + 1, end < 0 ? body.length : end));
  }
  return undefined;
}

function tcpConnect(host: string, port: number, timeoutMs: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = netConnect({ host, port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`connection to ${host}:${port} timed out`));
    }, timeoutMs);
    socket.once("connect", () => {
      clearTimeout(timer);
      socket.removeAllListeners("error");
      resolve(socket);
    });
    socket.once("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

function readOneByte(socket: Socket): Promise<number> {
  return new Promise((resolve, reject) => {
    const onData = (chunk: Uint8Array) => {
      socket.off("error", onError);
      socket.pause();
      if (chunk.length > 1) socket.unshift(chunk.subarray(1));
      resolve(chunk[0]);
    };
    const onError = (error: Error) => {
      socket.off("data", onData);
      reject(error);
    };
    socket.once("data", onData);
    socket.once("error", onError);
  });
}
