/**
 * The migrations proxy (proxy-http-auth-config.md §3): a Postgres wire-protocol server on
 * PG_PROXY_PORT that authenticates clients with PG_PROXY_PASSWORD, gives each one its own
 * upstream connection from DATABASE_URL, and passes their traffic through, except where
 * electrified tables are concerned: DDLX (`ALTER TABLE … ENABLE ELECTRIC`) is run as
 * `CALL electric.enable(…)`, DDL that clients cannot follow is refused with the EX codes, and
 * additive DDL is captured with a migration version. Also the `/proxy` WebSocket tunnel.
 * Other modes by start-up parameters (§3.4, `modes.ts`): Prisma introspection answered from
 * the electrified schema (`prisma/`), Prisma shadow databases (`shadow.ts`), transparent.
 *
 * Layers (style.md): codec in `src/pgwire/` (protocol.ts, password_auth.ts), the session state
 * machine (`session.ts` start-up and auth, `engine.ts` units and response routing, `plans.ts`
 * what a unit does, `classify.ts`/`ddlx.ts`/`parse_sql.ts` pure analysis), and the transport
 * (`server.ts` TCP through the runtime, `node_upstream.ts` an upstream that may use TLS,
 * `tunnel.ts` WebSocket). Must not import other edge modules.
 *
 * Message flow of a session: client StartupMessage → AuthenticationMD5Password → password →
 * AuthenticationOk; upstream start-up and auth; upstream ParameterStatus…, BackendKeyData,
 * ReadyForQuery relayed; then Query / Parse…Sync units and their responses.
 */
import type { Config } from "../config/mod.ts";
import { delay, type Service } from "../lifecycle/mod.ts";
import type { TcpRuntime } from "../runtime/mod.ts";
import type { SchemaModel } from "../schema/mod.ts";
import type { Logger, MetricsRegistry } from "../telemetry/mod.ts";
import { ProxyServer } from "./server.ts";

export { proxyTunnelHandler, type TunnelOptions } from "./tunnel.ts";
export { type DdlxCommand, parseDdlx } from "./ddlx.ts";

export interface MigrationsProxyOptions {
  config: Readonly<Config>;
  logger: Logger;
  /**
   * Resolves true once the service's Postgres connection is ready (connections are refused
   * before that, §3.1); asked again while it resolves false. Default: ready at once.
   */
  ready?: () => Promise<boolean>;
  /** Overrides `config.proxy.port` (0 picks a free port; read it from `port`). */
  port?: number;
  /** Overrides the bind address (`::` or `0.0.0.0` from ELECTRIC_USE_IPV6). */
  hostname?: string;
  /**
   * Native TCP for the listener and plain-text upstream connections (pass the `Runtime`).
   * Default: `node:net`, which works under both runtimes but costs more per message.
   */
  runtime?: TcpRuntime;
  /** Registers the proxy's metrics (`electric_proxy_*`). */
  metrics?: MetricsRegistry;
  /**
   * The service's electrified schema now: Prisma introspection mode (user `prisma`, §3.10)
   * answers from it. Without it, that mode sees no tables.
   */
  schema?: () => SchemaModel | undefined;
  /**
   * Resolves true once the service has learnt the migration of committed transaction `txid`
   * (false after `timeoutMs`): a COMMIT that captured a migration is answered only then, so
   * whoever committed it can use it at once. Without it, commits are answered at once.
   */
  migrationKnown?: (txid: string, timeoutMs: number) => Promise<boolean>;
}

/** Thrown by `run()` when the port cannot be opened. */
export class ProxyListenError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

export class MigrationsProxy implements Service {
  readonly name = "migrations proxy";
  #options: MigrationsProxyOptions;
  #server: ProxyServer;
  #listening?: () => void;
  readonly listening: Promise<void>;

  constructor(options: MigrationsProxyOptions) {
    this.#options = options;
    this.#server = new ProxyServer({
      config: options.config,
      logger: options.logger,
      ...(options.port === undefined ? {} : { port: options.port }),
      ...(options.hostname === undefined ? {} : { hostname: options.hostname }),
      ...(options.runtime === undefined ? {} : { tcp: options.runtime }),
      ...(options.metrics === undefined ? {} : { metrics: options.metrics }),
      ...(options.schema === undefined ? {} : { schema: options.schema }),
      ...(options.migrationKnown === undefined ? {} : { migrationKnown: options.migrationKnown }),
    });
    this.listening = new Promise((resolve) => this.#listening = resolve);
  }

  /** The bound port once listening. */
  get port(): number {
    return this.#server.port;
  }

  async run(signal: AbortSignal): Promise<void> {
    const ready = this.#options.ready ?? (() => Promise.resolve(true));
    while (!signal.aborted && !(await ready())) await delay(100, signal);
    if (signal.aborted) return;
    const listened = await this.#server.listen();
    if (!listened.ok) throw new ProxyListenError(listened.code, listened.message);
    this.#options.logger.info(`Starting Proxy server listening on port ${this.port}`);
    this.#listening?.();
    await new Promise<void>((resolve) => {
      if (signal.aborted) return resolve();
      signal.addEventListener("abort", () => resolve(), { once: true });
    });
    await this.#server.close();
  }
}
