/**
 * The runtime contract: the few things Deno and Bun do differently (HTTP serving with
 * WebSocket upgrades, raw TCP, signals, environment, exit). Everything outside `src/runtime/` uses
 * this interface and web-standard APIs, and never names `Deno` or `Bun`.
 */
export type RuntimeName = "deno" | "bun";

export type FetchHandler = (request: Request) => Response | Promise<Response>;

export interface ServeOptions {
  port: number;
  /** `::` for dual-stack, `0.0.0.0` for IPv4 only. */
  hostname: string;
  fetch: FetchHandler;
  /**
   * A request head must arrive whole within this long (default `HTTP_HEADER_TIMEOUT_MS`), and
   * a connection that is not a WebSocket is closed after `idleTimeoutMs` without a byte
   * (default `HTTP_IDLE_TIMEOUT_MS`). Bun enforces one idle limit for both: no byte for the
   * shorter of the two.
   */
  headerTimeoutMs?: number;
  idleTimeoutMs?: number;
  /** Largest WebSocket message a client may send; default `WEBSOCKET_MAX_MESSAGE_BYTES`. */
  maxMessageBytes?: number;
}

/** Slow-request defences, as common HTTP servers set them. */
export const HTTP_HEADER_TIMEOUT_MS = 10_000;
export const HTTP_IDLE_TIMEOUT_MS = 10_000;
/**
 * Largest WebSocket message a client may send (the Satellite frame limit); a larger one is
 * answered with close 1009 on both runtimes.
 */
export const WEBSOCKET_MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

export interface HttpServerHandle {
  /** The port actually bound (differs from the request when it was 0). */
  readonly port: number;
  /** Stops accepting connections and closes idle ones; resolves when the listener is gone. */
  close(): Promise<void>;
}

export type ServeResult =
  | { ok: true; server: HttpServerHandle }
  | { ok: false; error: { code: "ADDRESS_IN_USE" | "LISTEN_FAILED"; message: string } };

export type ShutdownSignal = "SIGINT" | "SIGTERM";

/** The server side of an accepted WebSocket. */
export interface ServerSocket {
  /** Sends one binary message. */
  send(data: Uint8Array): void;
  /** Closes with a code the runtime accepts (1000 or 3000–4999). */
  close(code: number, reason: string): void;
  /**
   * Resolves once no more than `bytes` wait to be written to the peer (or the socket closed):
   * a sender of large data waits here so a slow client does not make the server buffer it.
   */
  drained(bytes: number): Promise<void>;
}

export interface SocketHandlers {
  onOpen(socket: ServerSocket): void;
  /** Binary messages arrive as bytes, text messages as strings. */
  onMessage(socket: ServerSocket, data: Uint8Array | string): void;
  onClose(code: number, reason: string): void;
}

export interface UpgradeOptions {
  /** The subprotocol to select and echo in the handshake response. */
  protocol?: string;
  /** Seconds without traffic before the runtime pings, then closes an unresponsive peer. */
  idleTimeoutSeconds?: number;
  handlers: SocketHandlers;
}

/** Handlers of a TCP connection, given to `TcpConnection.start`. */
export interface TcpHandlers {
  /**
   * Bytes received. The chunk belongs to the handler (the runtime never reuses it), so frames
   * cut from it may be kept without copying.
   */
  onData(chunk: Uint8Array): void;
  /** The write queue fell back under the high-water mark after `write` returned false. */
  onDrain?(): void;
  /**
   * Called once when the connection is gone: the peer closed it, it failed (`error` set), or
   * `close`/`end` finished. Not called for a connection closed before `start`.
   */
  onClose?(error?: Error): void;
}

/**
 * One TCP connection, accepted or opened. Writes are queued and sent together at the end of
 * the current turn of the event loop (one send for everything a turn wrote).
 */
export interface TcpConnection {
  /** Begins delivering events; bytes that arrived earlier are delivered first. */
  start(handlers: TcpHandlers): void;
  /**
   * Queues bytes. The caller must not modify them afterwards (they may be sent later, without
   * a copy). Returns false once the queue passes the high-water mark: stop writing until
   * `onDrain`. Ignored after `close`/`end`.
   */
  write(bytes: Uint8Array): boolean;
  /** Stops reading (backpressure towards the peer) until `resume`. */
  pause(): void;
  resume(): void;
  /** Sends what is queued, then closes. */
  end(): void;
  /** Closes at once, dropping anything queued. */
  close(): void;
}

export interface TcpListenOptions {
  /** `::` for dual-stack, `0.0.0.0` for IPv4 only. */
  hostname: string;
  /** 0 picks a free port (read it from the handle). */
  port: number;
  /** Called for each accepted connection; call its `start` to receive data. */
  onConnection(connection: TcpConnection): void;
}

export interface TcpServerHandle {
  /** The port actually bound. */
  readonly port: number;
  /** Stops accepting; connections already accepted stay open (their owners close them). */
  close(): Promise<void>;
}

export type ListenTcpResult =
  | { ok: true; server: TcpServerHandle }
  | { ok: false; error: { code: "ADDRESS_IN_USE" | "LISTEN_FAILED"; message: string } };

export interface TcpConnectOptions {
  hostname: string;
  port: number;
  /** Gives up (rejects) after this many milliseconds. Default: the system's own timeout. */
  timeoutMs?: number;
}

/** The raw-TCP part of the contract (also implemented over `node:net`, see `node_tcp.ts`). */
export interface TcpRuntime {
  /** Listens, with TCP_NODELAY on accepted connections. */
  listenTcp(options: TcpListenOptions): Promise<ListenTcpResult>;
  /** Connects with TCP_NODELAY; rejects with an Error naming the address when it cannot. */
  connectTcp(options: TcpConnectOptions): Promise<TcpConnection>;
}

export interface Runtime extends TcpRuntime {
  readonly name: RuntimeName;
  /** A snapshot of the process environment (config is read once, at startup). */
  env(): Record<string, string | undefined>;
  /** Command-line arguments after the program (and script) name. */
  args(): string[];
  /**
   * Upgrades a request received by `serve` to a WebSocket; returns the response to answer
   * with, or undefined when the request cannot be upgraded.
   */
  upgradeWebSocket(request: Request, options: UpgradeOptions): Response | undefined;
  serve(options: ServeOptions): ServeResult;
  /** Calls `handler` on SIGINT/SIGTERM; returns a function that removes the listeners. */
  onShutdownSignal(handler: (signal: ShutdownSignal) => void): () => void;
  exit(code: number): never;
  /**
   * Routes errors that escaped every handler (an unhandled rejection inside a library, say)
   * to `handler` instead of letting the runtime kill the process.
   */
  onUncaughtError(handler: (error: unknown) => void): void;
}
