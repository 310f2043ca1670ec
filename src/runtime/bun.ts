/** Bun implementation of the runtime contract. Loaded only when running under Bun. */
import process from "node:process";
import { createBunWebSocket } from "hono/bun";
import type { Runtime, ServeOptions, ServeResult } from "./types.ts";

/** The slice of Bun's API we use, typed here so `deno check` needs no Bun type package. */
interface BunServer {
  readonly port: number;
  stop(closeActiveConnections?: boolean): Promise<void> | void;
}
interface BunApi {
  serve(options: {
    port: number;
    hostname: string;
    fetch: (request: Request, server: unknown) => Response | Promise<Response> | undefined;
    websocket: unknown;
    error?: (error: Error) => Response;
  }): BunServer;
}

export function createBunRuntime(): Runtime {
  const bun = (globalThis as unknown as { Bun: BunApi }).Bun;
  const { upgradeWebSocket, websocket } = createBunWebSocket();

  function serve(options: ServeOptions): ServeResult {
    try {
      const server = bun.serve({
        port: options.port,
        hostname: options.hostname,
        // Hono's Bun adapter reads the server from the env argument to upgrade sockets.
        fetch: (request, server) =>
          (options.fetch as (r: Request, env: unknown) => Response | Promise<Response>)(
            request,
            server,
          ),
        websocket,
        error: () => new Response("Internal server error", { status: 500 }),
      });
      return {
        ok: true,
        server: {
          port: server.port,
          close: async () => {
            await server.stop(false);
          },
        },
      };
    } catch (error) {
      const code = (error as { code?: string }).code === "EADDRINUSE"
        ? "ADDRESS_IN_USE"
        : "LISTEN_FAILED";
      return { ok: false, error: { code, message: String(error) } };
    }
  }

  return {
    name: "bun",
    env: () => ({ ...process.env }),
    args: () => process.argv.slice(2),
    upgradeWebSocket,
    serve,
    onShutdownSignal(handler) {
      const onInt = () => handler("SIGINT");
      const onTerm = () => handler("SIGTERM");
      process.on("SIGINT", onInt);
      process.on("SIGTERM", onTerm);
      return () => {
        process.off("SIGINT", onInt);
        process.off("SIGTERM", onTerm);
      };
    },
    exit: (code) => process.exit(code),
    onUncaughtError(handler) {
      process.on("unhandledRejection", (reason) => handler(reason));
      process.on("uncaughtException", (error) => handler(error));
    },
  };
}
