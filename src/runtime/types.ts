/**
 * The runtime contract: the few things Deno and Bun do differently (HTTP serving with
 * WebSocket upgrades, signals, environment, exit). Everything outside `src/runtime/` uses
 * this interface and web-standard APIs, and never names `Deno` or `Bun`.
 */
export type RuntimeName = "deno" | "bun";

export type FetchHandler = (request: Request) => Response | Promise<Response>;

export interface ServeOptions {
  port: number;
  /** `::` for dual-stack, `0.0.0.0` for IPv4 only. */
  hostname: string;
  fetch: FetchHandler;
}

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

export interface Runtime {
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
