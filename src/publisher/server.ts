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
import {
  concatBytes,
  DECLINE_ENCRYPTION,
  decodeFrontend,
  encodeBackend,
  formatLsn,
  readFrame,
  readStartupPacket,
  type WireError,
} from "../pgwire/mod.ts";
import { ORIGIN } from "../storage/mod.ts";
import type { Logger } from "../telemetry/mod.ts";
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
  type SubscriberMessage,
} from "./session.ts";
import { describable, type PublishedTransaction, type SentTransaction } from "./stream.ts";

/**
 * What became of a published transaction: applied once the subscriber confirms a position
 * past it (Postgres applied and flushed it), or given up on.
 */
export type PublishOutcome = { applied: true } | { applied: false; reason: string };

export interface Publisher {
  /** Queues a client transaction; resolves once Postgres applied it, or it was given up. */
  publish(tx: PublishedTransaction): Promise<PublishOutcome>;
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
  /** How long a connection may take to prove the secret; default `LOGIN_TIMEOUT_MS`. */
  loginTimeoutMs?: number;
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
  /** Until the connection proved the secret: closes it when the login takes too long. */
  login?: ReturnType<typeof setTimeout>;
}

/** As Postgres' `authentication_timeout` (and PG_PROXY_AUTH_TIMEOUT's default). */
export const LOGIN_TIMEOUT_MS = 60_000;
/** Connections still logging in at once; more are closed at once (and it is logged). */
export const MAX_LOGGING_IN = 256;
/** Before the login, nothing a subscriber sends is longer than this. */
const MAX_LOGIN_MESSAGE = 8 * 1024;

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
  /** Published transactions whose outcome is not known yet. */
  #unsettled = new Map<PublishedTransaction, (outcome: PublishOutcome) => void>();
  #chain: Promise<void> = Promise.resolve();
  #nextProcessId = randomInt(1000, 30000);
  #loggingIn = 0;
  #lastCapWarning = 0;

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

  /**
   * Queues a client transaction; it is streamed as soon as a subscriber is streaming. The
   * outcome waits for the subscriber's confirmation, so whatever connects to the publisher,
   * only Postgres applying the transaction reports it applied.
   */
  publish(tx: PublishedTransaction): Promise<PublishOutcome> {
    if (tx.changes.length === 0) return Promise.resolve({ applied: true });
    const outcome = new Promise<PublishOutcome>((resolve) => this.#unsettled.set(tx, resolve));
    this.#outbox = enqueue(this.#outbox, tx);
    this.#serially(() => this.#deliverQueued());
    return outcome;
  }

  #settle(sent: readonly SentTransaction[], outcome: PublishOutcome): void {
    for (const { transaction } of sent) {
      const resolve = this.#unsettled.get(transaction);
      if (!resolve) continue;
      this.#unsettled.delete(transaction);
      resolve(outcome);
    }
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
    const stopped = { applied: false, reason: "The logical publisher stopped" } as const;
    for (const resolve of this.#unsettled.values()) resolve(stopped);
    this.#unsettled.clear();
  }

  #accept(socket: Socket): void {
    socket.setNoDelay(true);
    if (this.#loggingIn >= MAX_LOGGING_IN) {
      const now = Date.now();
      if (now - this.#lastCapWarning > 10_000) {
        this.#lastCapWarning = now;
        this.#logger.warning(
          `Refused a logical publisher connection: ${MAX_LOGGING_IN} others are still logging in.`,
        );
      }
      socket.destroy();
      return;
    }
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
    this.#loggingIn++;
    connection.login = setTimeout(() => {
      this.#input(connection, { tag: "login_timeout" });
    }, this.#options.loginTimeoutMs ?? LOGIN_TIMEOUT_MS);
    socket.on("data", (chunk: Uint8Array) => this.#receive(connection, chunk));
    socket.on("error", (error) => this.#logger.debug(`Publisher connection: ${error.message}`));
    socket.on("close", () => {
      this.#loggedIn(connection);
      this.#connections.delete(connection);
      if (this.#streaming === connection) {
        this.#streaming = undefined;
        this.#logger.info("Subscriber stopped streaming from the logical publisher.");
      }
    });
  }

  #receive(connection: Connection, chunk: Uint8Array): void {
    connection.input = connection.input.length === 0
      ? chunk
      : concatBytes([connection.input, chunk]);
    while (connection.state.phase !== "closed") {
      const { phase } = connection.state;
      const decoded = nextMessage(
        connection.input,
        phase === "startup",
        phase === "auth" ? MAX_LOGIN_MESSAGE : MAX_SUBSCRIBER_MESSAGE,
      );
      if (decoded.kind === "incomplete") return;
      if (decoded.kind === "error") {
        connection.input = new Uint8Array();
        this.#input(connection, { tag: "decode_error", error: decoded.error });
        return;
      }
      connection.input = connection.input.subarray(decoded.consumed);
      this.#input(connection, { tag: "frontend", message: decoded.message, now: this.#now() });
    }
  }

  #input(connection: Connection, input: SessionInput): void {
    const { state, out } = step(connection.state, input);
    connection.state = state;
    if (state.phase !== "startup" && state.phase !== "auth") this.#loggedIn(connection);
    this.#apply(connection, out);
  }

  /** The connection is past its login (in, or closed): it no longer counts as logging in. */
  #loggedIn(connection: Connection): void {
    if (connection.login === undefined) return;
    clearTimeout(connection.login);
    connection.login = undefined;
    this.#loggingIn--;
  }

  #apply(connection: Connection, effects: SessionEffect[]): void {
    const chunks: Uint8Array[] = [];
    const flush = () => {
      if (chunks.length === 0 || connection.socket.destroyed) return;
      connection.socket.write(concatBytes(chunks.splice(0)));
    };
    for (const effect of effects) {
      switch (effect.tag) {
        case "send":
          chunks.push(encodeBackend(effect.message));
          break;
        case "decline_encryption":
          chunks.push(DECLINE_ENCRYPTION);
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
            const confirmed = confirm(this.#outbox, effect.flushed);
            this.#outbox = confirmed.state;
            this.#settle(confirmed.applied, { applied: true });
          }
          break;
        case "skipped": {
          const lsn = formatLsn(effect.transaction.finalLsn);
          this.#logger.error(`Could not publish a client transaction at ${lsn}: ${effect.message}`);
          this.#settle([effect.transaction], { applied: false, reason: effect.message });
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
    this.#settle(taken.applied, { applied: true });
    this.#settle(taken.dropped, {
      applied: false,
      reason: "Postgres did not apply the transaction",
    });
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

/**
 * Largest tagged message taken from a subscriber: it sends short queries and status updates,
 * so anything near this is not Postgres and is refused before it is buffered.
 */
export const MAX_SUBSCRIBER_MESSAGE = 1024 * 1024;

type MessageStep =
  | { kind: "message"; message: SubscriberMessage; consumed: number }
  | { kind: "incomplete" }
  | { kind: "error"; error: WireError };

/** The next whole message in `input`: the untagged start-up packet, or a tagged message. */
function nextMessage(input: Uint8Array, startup: boolean, maxLength: number): MessageStep {
  if (startup) {
    const step = readStartupPacket(input);
    return step.kind === "packet"
      ? { kind: "message", message: step.packet, consumed: step.consumed }
      : step;
  }
  const step = readFrame(input, 0, maxLength);
  if (step.kind !== "frame") return step;
  const decoded = decodeFrontend(step.frame);
  return decoded.ok
    ? { kind: "message", message: decoded.message, consumed: step.consumed }
    : { kind: "error", error: decoded.error };
}
