/**
 * The runtime contract: the few things Deno and Bun do differently (HTTP serving with
 * WebSocket upgrades, signals, environment, exit). Everything outside `src/runtime/` uses
 * this interface and web-standard APIs, and never names `Deno` or `Bun`.
 */
import type { UpgradeWebSocket } from "hono/ws";

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

export interface Runtime {
  readonly name: RuntimeName;
  /** A snapshot of the process environment (config is read once, at startup). */
  env(): Record<string, string | undefined>;
  /** Command-line arguments after the program (and script) name. */
  args(): string[];
  /** Hono's WebSocket upgrade helper for this runtime; routes mount it, `serve` wires it. */
  readonly upgradeWebSocket: UpgradeWebSocket;
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
