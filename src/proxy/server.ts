/**
 * The proxy's transport: a TCP listener, one client connection and one upstream connection per
 * session, bytes cut into frames and handed to the session state machine, whose output is
 * written back. TCP comes from the runtime (`src/runtime/`: `Deno.listen`/`Bun.listen` and
 * their connects, with writes coalesced per event-loop turn); without one, from `node:net`.
 * An upstream that may speak TLS goes through `node_upstream.ts` (`node:tls`).
 *
 * Ordering: input is handled synchronously as it arrives, except that a client frame whose SQL
 * needs the full (asynchronous) parser holds back the client input after it, and an upstream
 * failure reported meanwhile, until it is applied.
 * Backpressure: when one side's write queue passes its mark, reading from the other side pauses.
 * Copies: received chunks belong to us, so frames are cut from them and kept without copying;
 * the output parts of a step are queued as they are and joined once per turn by the runtime.
 */
import { randomBytes } from "node:crypto";
import { type Config, featureEnabled } from "../config/mod.ts";
import {
  concatBytes,
  decodeText,
  encodeStartup,
  type Frame,
  readFrame,
  readStartupPacket,
  type WireError,
} from "../pgwire/mod.ts";
import {
  createNodeTcp,
  type TcpConnection,
  type TcpRuntime,
  type TcpServerHandle,
} from "../runtime/mod.ts";
import { resolveDatabaseHost } from "../storage/mod.ts";
import type { SchemaModel } from "../schema/mod.ts";
import type { Counter, Logger, MetricsRegistry } from "../telemetry/mod.ts";
import { connectNegotiatingTls } from "./node_upstream.ts";
import { parseSql, quickParse } from "./parse_sql.ts";
import {
  expectsStartupPacket,
  initialSession,
  loggedIn,
  type Output,
  type SessionEvent,
  type SessionOptions,
  type SessionState,
  step,
  wantsFullParse,
  wantsParsedSql,
} from "./session.ts";

/**
 * Connections still logging in, at most; more are closed at once (and the refusals logged), so
 * silent sockets cannot pile up to exhaust the process.
 */
export const MAX_UNAUTHENTICATED = 256;
/** Refusals over the cap are logged at most this often. */
const REFUSAL_LOG_INTERVAL_MS = 10_000;

/** Largest message accepted from a client (Postgres's own limit for most messages is 1 GB). */
const MAX_CLIENT_MESSAGE = 256 * 1024 * 1024;
const MAX_UPSTREAM_MESSAGE = 1024 * 1024 * 1024;

export interface ProxyServerOptions {
  config: Readonly<Config>;
  logger: Logger;
  /** Overrides `config.proxy.port` (0 picks a free port). */
  port?: number;
  hostname?: string;
  /** Native TCP (the runtime); default: `node:net`. */
  tcp?: TcpRuntime;
  /** Registers `electric_proxy_sessions` and `electric_proxy_migrations_captured_total`. */
  metrics?: MetricsRegistry;
  /** The electrified schema now, for Prisma introspection mode (§3.10). */
  schema?: () => SchemaModel | undefined;
  /**
   * Resolves true once the service's schema catalog holds the migration of committed
   * transaction `txid` (false after `timeoutMs`). Absent: commits are answered at once.
   */
  migrationKnown?: (txid: string, timeoutMs: number) => Promise<boolean>;
}

/** How long a COMMIT that captured a migration waits for the service to learn it. */
export const MIGRATION_WAIT_MS = 5_000;

export class ProxyServer {
  #options: ProxyServerOptions;
  #tcp: TcpRuntime;
  #server?: TcpServerHandle;
  #sessions = new Set<Connection>();
  #nextId = 1;
  /** Refused over the cap since the last log line about it. */
  #refused = 0;
  #refusalLoggedAt = 0;
  #captured: Counter | undefined;

  constructor(options: ProxyServerOptions) {
    this.#options = options;
    this.#tcp = options.tcp ?? createNodeTcp();
    options.metrics?.gaugeFrom(
      "electric_proxy_sessions",
      "Open connections to the migrations proxy (TCP and tunnelled).",
      () => this.#sessions.size,
    );
    this.#captured = options.metrics?.counter(
      "electric_proxy_migrations_captured_total",
      "Migrations committed through the migrations proxy (DDL on electrified tables, DDLX).",
    );
  }

  get port(): number {
    return this.#server?.port ?? 0;
  }

  async listen(): Promise<{ ok: true } | { ok: false; code: string; message: string }> {
    const { config } = this.#options;
    const listened = await this.#tcp.listenTcp({
      port: this.#options.port ?? config.proxy.port,
      hostname: this.#options.hostname ?? (config.listenIpv6 ? "::" : "0.0.0.0"),
      onConnection: (client) => this.#accept(client),
    });
    if (!listened.ok) return { ok: false, ...listened.error };
    this.#server = listened.server;
    return { ok: true };
  }

  async close(): Promise<void> {
    for (const session of this.#sessions) session.close();
    await this.#server?.close();
  }

  #accept(client: TcpConnection): void {
    let loggingIn = 0;
    for (const session of this.#sessions) if (!session.authenticated) loggingIn++;
    if (loggingIn >= MAX_UNAUTHENTICATED) {
      client.close();
      this.#refused++;
      const now = Date.now();
      if (now - this.#refusalLoggedAt >= REFUSAL_LOG_INTERVAL_MS) {
        this.#options.logger.warning(
          `Refused ${this.#refused} proxy connection(s): ${MAX_UNAUTHENTICATED} are still logging in`,
        );
        this.#refused = 0;
        this.#refusalLoggedAt = now;
      }
      return;
    }
    const session = new Connection(client, this.#nextId++, {
      ...this.#options,
      tcp: this.#tcp,
      captured: this.#captured,
      onGone: () => this.#sessions.delete(session),
    });
    this.#sessions.add(session);
    session.start();
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

interface ConnectionOptions extends ProxyServerOptions {
  tcp: TcpRuntime;
  /** The client connection is gone. */
  onGone: () => void;
  captured: Counter | undefined;
}

class Connection {
  #client: TcpConnection;
  #upstream?: TcpConnection;
  #id: number;
  #options: ConnectionOptions;
  #logger: Logger;
  #state: SessionState;
  #clientIn = new FrameBuffer();
  #upstreamIn = new FrameBuffer();
  /**
   * A client frame waits for `parseSql` (asynchronous): input is buffered, and events from the
   * upstream side that must follow it wait in `#afterParse`, until it is applied.
   */
  #parsing = false;
  #afterParse: SessionEvent[] = [];
  #closed = false;
  #tracing: boolean;
  #authTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(client: TcpConnection, id: number, options: ConnectionOptions) {
    this.#client = client;
    this.#id = id;
    this.#options = options;
    this.#logger = options.logger.child({ proxy_session_id: id });
    this.#state = initialSession({ ...sessionOptions(options.config), schema: options.schema });
    this.#tracing = options.config.proxy.tracing;
  }

  /** Whether the client has logged in (past the authentication timeout's reach). */
  get authenticated(): boolean {
    return loggedIn(this.#state);
  }

  start(): void {
    this.#authTimer = setTimeout(
      () => this.#applyInOrder({ type: "auth_timeout" }),
      this.#options.config.proxy.authTimeoutMs,
    );
    this.#client.start({
      onData: (chunk) => {
        this.#clientIn.push(chunk);
        if (this.#parsing) return;
        try {
          this.#pumpClient();
        } catch (error) {
          this.#crash(error);
        }
      },
      onDrain: () => this.#upstream?.resume(),
      onClose: () => {
        this.#options.onGone();
        this.close();
      },
    });
  }

  /** Runs `event` now, or after the SQL parse in progress (keeping the order events arrived). */
  #applyInOrder(event: SessionEvent): void {
    if (this.#parsing) this.#afterParse.push(event);
    else this.#apply(event);
  }

  #crash(error: unknown): void {
    this.#logger.error(`Proxy session failed: ${(error as Error)?.message ?? String(error)}`);
    this.close();
  }

  close(): void {
    clearTimeout(this.#authTimer);
    if (this.#closed) return;
    this.#closed = true;
    this.#client.close();
    this.#upstream?.close();
  }

  #apply(event: SessionEvent): void {
    if (this.#closed) return;
    const { state, out } = step(this.#state, event);
    this.#state = state;
    if (this.#authTimer !== undefined && loggedIn(state)) {
      clearTimeout(this.#authTimer);
      this.#authTimer = undefined;
    }
    this.#write(out);
  }

  #write(out: Output): void {
    for (const entry of out.logs) this.#logger[entry.level](entry.message);
    if (out.captured) this.#options.captured?.inc(out.captured);
    if (this.#tracing) this.#trace(out);
    const upstream = this.#upstream;
    if (out.toUpstream.length > 0 && upstream) {
      let ok = true;
      for (const part of out.toUpstream) ok = upstream.write(part);
      if (!ok) this.#client.pause();
    }
    if (out.toClient.length > 0) {
      let ok = true;
      for (const part of out.toClient) ok = this.#client.write(part);
      if (!ok) upstream?.pause();
    }
    if (out.cancel) void this.#forwardCancel(out.cancel);
    if (out.awaitMigration) this.#awaitMigration(out.awaitMigration.txid);
    if (out.connectUpstream) void this.#connectUpstream();
    if (out.close) {
      this.#closed = true;
      this.#client.end();
      upstream?.end();
    }
  }

  #trace(out: Output): void {
    const tags = (parts: Uint8Array[]) =>
      parts.map((p) => String.fromCharCode(p[0] ?? 32)).join("");
    if (out.toClient.length > 0) console.log(`[${this.#id}] -▶ client ${tags(out.toClient)}`);
    if (out.toUpstream.length > 0) console.log(`[${this.#id}] server ◀- ${tags(out.toUpstream)}`);
  }

  /** Cuts and applies client frames synchronously, unless one needs the full SQL parser. */
  #pumpClient(): void {
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
      // The chunk is ours and never written to again, so the frame may be kept as it is.
      const frame = read.frame;
      const sql = wantsParsedSql(this.#state) ? sqlOf(frame) : undefined;
      if (sql === undefined) {
        this.#apply({ type: "client", frame });
        continue;
      }
      const simple = frame.tag === 0x51;
      const full = wantsFullParse(this.#state);
      const quick = full ? undefined : quickParse(sql, simple);
      if (quick) {
        this.#apply({ type: "client", frame, parsed: quick });
        continue;
      }
      this.#parsing = true;
      parseSql(sql, simple, { quick: !full }).then((parsed) => {
        this.#parsing = false;
        this.#apply({ type: "client", frame, parsed });
        for (const event of this.#afterParse.splice(0)) this.#applyInOrder(event);
        if (!this.#parsing) this.#pumpClient();
      }).catch((error) => this.#crash(error));
      // Frames after this one wait in #clientIn; the continuation above resumes the pump.
      return;
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

  async #openUpstream(): Promise<TcpConnection> {
    const { database } = this.#options.config;
    const resolved = await resolveDatabaseHost(database.host, database.useIpv6);
    if (!resolved.ok) throw new Error(resolved.error.message);
    if (database.sslMode !== "disable") {
      return await connectNegotiatingTls({
        address: resolved.address,
        port: database.port,
        servername: database.host,
        requireSsl: database.requireSsl,
        connectTimeoutMs: database.connectTimeoutMs,
      });
    }
    return await this.#options.tcp.connectTcp({
      hostname: resolved.address,
      port: database.port,
      timeoutMs: database.connectTimeoutMs,
    });
  }

  /** Waits (bounded) for the service to learn a committed migration, then resumes the session. */
  #awaitMigration(txid: string): void {
    const known = this.#options.migrationKnown;
    const waited = known
      ? known(txid, MIGRATION_WAIT_MS).catch(() => false)
      : Promise.resolve(true);
    void waited.then((ok) => {
      if (!ok) {
        this.#logger.warning(
          `The migration of transaction ${txid} was not loaded within ${MIGRATION_WAIT_MS} ms of its commit`,
        );
      }
      this.#applyInOrder({ type: "migration_known", known: ok });
    });
  }

  async #connectUpstream(): Promise<void> {
    let upstream: TcpConnection;
    try {
      upstream = await this.#openUpstream();
    } catch (error) {
      this.#applyInOrder({ type: "upstream_failed", message: (error as Error).message });
      return;
    }
    if (this.#closed) {
      upstream.close();
      return;
    }
    this.#upstream = upstream;
    upstream.start({
      onData: (chunk) => {
        try {
          this.#onUpstreamData(chunk);
        } catch (error) {
          this.#crash(error);
        }
      },
      onDrain: () => this.#client.resume(),
      onClose: (error) => this.#upstreamGone(error?.message ?? "closed"),
    });
    this.#apply({ type: "upstream_connected" });
  }

  #upstreamGone(message: string): void {
    if (this.#closed) return;
    this.#apply({ type: "upstream_failed", message });
    this.close();
  }

  async #forwardCancel(key: { processId: number; secretKey: number }): Promise<void> {
    try {
      const upstream = await this.#openUpstream();
      upstream.write(encodeStartup({ type: "CancelRequest", ...key }));
      upstream.end();
    } catch (error) {
      this.#logger.warning(`Could not forward a cancel request: ${(error as Error).message}`);
    }
  }
}

const decoder = new TextDecoder();
const utf8 = (bytes: Uint8Array) => decoder.decode(bytes);

function sqlOf(frame: Frame): string | undefined {
  const body = frame.body;
  if (frame.tag === 0x51) { // 'Q' Query
    const end = body.indexOf(0);
    return decodeText(body.subarray(0, end < 0 ? body.length : end), utf8);
  }
  if (frame.tag === 0x50) { // 'P' Parse: name, then the query text
    const nameEnd = body.indexOf(0);
    if (nameEnd < 0) return undefined;
    const end = body.indexOf(0, nameEnd + 1);
    return decodeText(body.subarray(nameEnd + 1, end < 0 ? body.length : end), utf8);
  }
  return undefined;
}
