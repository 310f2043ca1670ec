/**
 * The publisher's transport and hub: a TCP listener (one session per socket) and the shared
 * outbox of client transactions, handed to whichever session is streaming.
 *
 * `node:net` rather than `src/runtime/`: Deno and Bun both implement it the same way for a
 * plain TCP server, so one file serves both runtimes (and a compiled binary).
 *
 * Ordering: everything that touches the outbox runs on one promise chain, because placing
 * transactions in the stream may first wait for a catalog refresh (a newly electrified table
 * or added column), and transactions must leave in publish order.
 */
import { createServer, type Server, type Socket } from "node:net";
import { randomBytes, randomInt } from "node:crypto";
import type { Service } from "../lifecycle/mod.ts";
import { formatLsn } from "../pgwire/mod.ts";
import { ORIGIN } from "../storage/mod.ts";
import type { Logger } from "../telemetry/mod.ts";
import {
  decodeFrontendMessage,
  decodeStartupPacket,
  encodeBackendMessage,
  type FrontendMessage,
} from "./backend_codec.ts";
import type { PublisherCatalog } from "./catalog.ts";
import {
  confirm,
  enqueue,
  initialOutbox,
  type OutboxState,
  type OutboxTake,
  startStreaming,
  takeQueued,
} from "./outbox.ts";
import {
  initialSession,
  type SessionEffect,
  type SessionInput,
  type SessionState,
  step,
} from "./session.ts";
import { describable, type PublishedTransaction } from "./stream.ts";

export interface Publisher {
  publish(tx: PublishedTransaction): void;
  run(signal: AbortSignal): Promise<void>;
  readonly port: number;
}

export interface PublisherOptions {
  /** LOGICAL_PUBLISHER_PORT; 0 picks a free port (see `port` after `listen()`). */
  port: number;
  /** `::` (dual-stack, the default) or `0.0.0.0` when ELECTRIC_USE_IPV6=false. */
  hostname?: string;
  catalog: PublisherCatalog;
  logger: Logger;
  /** Sent as `server_version`, e.g. `electric-0.12.1`; must not start with a digit. */
  serverVersion: string;
  /** IDENTIFY_SYSTEM's `systemid`; default: random per publisher. */
  systemId?: string;
  /**
   * Whether a subscriber's `application_name` is a known origin whose schema is loaded;
   * default: the name is `postgres_1`.
   */
  originReady?: (name: string) => boolean;
  /** Default 10 s. */
  keepaliveIntervalMs?: number;
  now?: () => Date;
}

export type ListenResult =
  | { ok: true; port: number }
  | { ok: false; error: PublisherListenError };

export interface PublisherListenError {
  code: "ADDRESS_IN_USE" | "LISTEN_FAILED";
  message: string;
}

/** Thrown by `run()` when the listener cannot be opened; carries the coded error. */
export class PublisherError extends Error {
  readonly code: PublisherListenError["code"];
  constructor(error: PublisherListenError) {
    super(error.message);
    this.code = error.code;
  }
}

export interface PublisherStatus {
  listening: boolean;
  /** Whether a subscriber is streaming. */
  streaming: boolean;
  position: string;
  queued: number;
  unconfirmed: number;
}

interface Connection {
  socket: Socket;
  state: SessionState;
  input: Uint8Array;
}

export class LogicalPublisher implements Publisher, Service {
  readonly name = "logical publisher";
  #options: PublisherOptions;
  #logger: Logger;
  #now: () => Date;
  #systemId: string;
  #server: Server | undefined;
  #port = 0;
  #password: string | undefined;
  #listening: Promise<ListenResult> | undefined;
  #connections = new Set<Connection>();
  #streaming: Connection | undefined;
  #outbox: OutboxState = initialOutbox();
  #chain: Promise<void> = Promise.resolve();
  #nextProcessId = randomInt(1000, 30000);

  constructor(options: PublisherOptions) {
    this.#options = options;
    this.#logger = options.logger;
    this.#now = options.now ?? (() => new Date());
    this.#systemId = options.systemId ?? String(randomInt(1, 2 ** 47) * 65536);
  }

  /** The bound port (0 before `listen()` succeeds). */
  get port(): number {
    return this.#port;
  }

  status(): PublisherStatus {
    return {
      listening: this.#server?.listening ?? false,
      streaming: this.#streaming !== undefined,
      position: formatLsn(this.#outbox.position),
      queued: this.#outbox.queued.length,
      unconfirmed: this.#outbox.unconfirmed.length,
    };
  }

  /** Opens the listener (once; later calls return the first outcome). */
  listen(): Promise<ListenResult> {
    this.#listening ??= new Promise((resolve) => {
      const server = createServer((socket) => this.#accept(socket));
      const onError = (error: NodeJS.ErrnoException) => {
        resolve({
          ok: false,
          error: {
            code: error.code === "EADDRINUSE" ? "ADDRESS_IN_USE" : "LISTEN_FAILED",
            message: `Failed to listen for logical replication connections on port ` +
              `${this.#options.port}: ${error.message}`,
          },
        });
      };
      server.once("error", onError);
      server.listen(this.#options.port, this.#options.hostname ?? "::", () => {
        server.off("error", onError);
        server.on("error", (error) => this.#logger.error(`Publisher listener: ${error.message}`));
        const address = server.address();
        this.#port = typeof address === "object" && address !== null ? address.port : 0;
        this.#server = server;
        resolve({ ok: true, port: this.#port });
      });
    });
    return this.#listening;
  }

  /** Serves until `signal` aborts; then closes the listener and every connection. */
  async run(signal: AbortSignal): Promise<void> {
    const listened = await this.listen();
    if (!listened.ok) throw new PublisherError(listened.error);
    this.#logger.info(`Logical replication publisher listening on port ${this.#port}.`);
    const interval = this.#options.keepaliveIntervalMs ?? 10_000;
    const timer = setInterval(() => {
      if (this.#streaming) this.#input(this.#streaming, { tag: "tick", now: this.#now() });
    }, interval);
    await new Promise<void>((resolve) => {
      if (signal.aborted) return resolve();
      signal.addEventListener("abort", () => resolve(), { once: true });
    });
    clearInterval(timer);
    await this.#close();
  }

  /**
   * The secret a subscriber must prove (the password in the connection string of the service's
   * subscription); until it is set, every subscriber is refused.
   */
  setPassword(password: string): void {
    this.#password = password;
  }

  /** Queues a client transaction; it is streamed as soon as a subscriber is streaming. */
  publish(tx: PublishedTransaction): void {
    this.#outbox = enqueue(this.#outbox, tx);
    this.#serially(() => this.#deliverQueued());
  }

  async #close(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    this.#listening = undefined;
    for (const connection of this.#connections) connection.socket.destroy();
    this.#connections.clear();
    this.#streaming = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
    await this.#chain;
  }

  #accept(socket: Socket): void {
    socket.setNoDelay(true);
    const env = {
      serverVersion: this.#options.serverVersion,
      systemId: this.#systemId,
      processId: this.#nextProcessId++,
      secretKey: randomInt(0, 2 ** 31),
      originReady: this.#options.originReady ?? ((name: string) => name === ORIGIN),
      tables: () => this.#options.catalog.tables(),
      password: () => this.#password,
      salt: () => new Uint8Array(randomBytes(4)),
    };
    const connection: Connection = {
      socket,
      state: initialSession(env),
      input: new Uint8Array(),
    };
    this.#connections.add(connection);
    socket.on("data", (chunk: Uint8Array) => this.#receive(connection, chunk));
    socket.on("error", (error) => this.#logger.debug(`Publisher connection: ${error.message}`));
    socket.on("close", () => {
      this.#connections.delete(connection);
      if (this.#streaming === connection) {
        this.#streaming = undefined;
        this.#logger.info("Subscriber stopped streaming from the logical publisher.");
      }
    });
  }

  #receive(connection: Connection, chunk: Uint8Array): void {
    connection.input = connection.input.length === 0 ? chunk : concat(connection.input, chunk);
    while (connection.state.phase !== "closed") {
      const decoded = connection.state.phase === "startup"
        ? decodeStartupPacket(connection.input)
        : decodeFrontendMessage(connection.input);
      if (decoded.kind === "incomplete") return;
      if (decoded.kind === "error") {
        connection.input = new Uint8Array();
        this.#input(connection, { tag: "decode_error", error: decoded.error });
        return;
      }
      connection.input = connection.input.subarray(decoded.consumed);
      const message: FrontendMessage = decoded.message;
      this.#input(connection, { tag: "frontend", message, now: this.#now() });
    }
  }

  #input(connection: Connection, input: SessionInput): void {
    const { state, out } = step(connection.state, input);
    connection.state = state;
    this.#apply(connection, out);
  }

  #apply(connection: Connection, effects: SessionEffect[]): void {
    const chunks: Uint8Array[] = [];
    const flush = () => {
      if (chunks.length === 0 || connection.socket.destroyed) return;
      connection.socket.write(concat(...chunks.splice(0)));
    };
    for (const effect of effects) {
      switch (effect.tag) {
        case "send":
          chunks.push(encodeBackendMessage(effect.message));
          break;
        case "close":
          flush();
          this.#end(connection.socket);
          break;
        case "start_replication":
          flush();
          this.#startStreaming(connection, effect.startLsn, effect.slot);
          break;
        case "stop_replication":
          if (this.#streaming === connection) this.#streaming = undefined;
          break;
        case "cancel":
          this.#cancel(effect.processId, effect.secretKey);
          break;
        case "confirmed":
          if (this.#streaming === connection) {
            this.#outbox = confirm(this.#outbox, effect.flushed);
          }
          break;
        case "skipped": {
          const lsn = formatLsn(effect.transaction.finalLsn);
          this.#logger.error(`Could not publish a client transaction at ${lsn}: ${effect.message}`);
          break;
        }
      }
    }
    flush();
  }

  /** Ends after pending writes; a peer that never reads must not keep the socket open. */
  #end(socket: Socket): void {
    socket.end();
    const timer = setTimeout(() => socket.destroy(), 1000);
    socket.once("close", () => clearTimeout(timer));
  }

  #startStreaming(connection: Connection, requested: bigint, slot: string): void {
    const previous = this.#streaming;
    this.#streaming = connection;
    if (previous !== undefined && previous !== connection) {
      this.#input(previous, { tag: "superseded" });
    }
    this.#logger.info(
      `Subscriber started streaming from slot "${slot}" at ${formatLsn(requested)}.`,
    );
    this.#serially(async () => {
      await this.#ensureDescribable();
      if (this.#streaming !== connection) return;
      const taken = startStreaming(this.#outbox, requested);
      this.#handOver(connection, taken, taken.from);
    });
  }

  async #deliverQueued(): Promise<void> {
    if (this.#streaming === undefined || this.#outbox.queued.length === 0) return;
    await this.#ensureDescribable();
    const connection = this.#streaming;
    if (connection === undefined) return;
    this.#handOver(connection, takeQueued(this.#outbox));
  }

  #handOver(connection: Connection, taken: OutboxTake, attachedAt?: bigint): void {
    this.#outbox = taken.state;
    for (const sent of taken.dropped) {
      this.#logger.warning(
        `Gave up publishing a client transaction (LSN ${formatLsn(sent.finalLsn)}) ` +
          `the subscriber did not apply; the client resends it when it reconnects.`,
      );
    }
    const now = this.#now();
    if (attachedAt !== undefined) {
      this.#input(connection, { tag: "attached", position: attachedAt, now });
    }
    if (taken.deliver.length > 0) {
      this.#input(connection, { tag: "transactions", transactions: taken.deliver, now });
    }
  }

  /** Refreshes the catalog once when a queued transaction names a table or column it lacks. */
  async #ensureDescribable(): Promise<void> {
    const catalog = this.#options.catalog;
    const tables = catalog.tables();
    if (this.#outbox.queued.every((tx) => describable(tx, tables))) return;
    try {
      await catalog.refresh?.();
    } catch (error) {
      this.#logger.warning(`Could not reload the published tables: ${(error as Error).message}`);
    }
  }

  #cancel(processId: number, secretKey: number): void {
    for (const connection of this.#connections) {
      const env = connection.state.env;
      if (env.processId === processId && env.secretKey === secretKey) {
        if (this.#streaming === connection) this.#streaming = undefined;
        connection.socket.destroy();
      }
    }
  }

  #serially(task: () => Promise<void>): void {
    this.#chain = this.#chain.then(task).catch((error) =>
      this.#logger.error(`Logical publisher: ${(error as Error).message}`)
    );
  }
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}
