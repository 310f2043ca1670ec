/** Bun implementation of the runtime contract. Loaded only when running under Bun. */
import process from "node:process";
import type {
  Runtime,
  ServeOptions,
  ServeResult,
  ServerSocket,
  SocketHandlers,
  UpgradeOptions,
} from "./types.ts";

/** The slice of Bun's API we use, typed here so `deno check` needs no Bun type package. */
interface BunServer {
  readonly port: number;
  stop(closeActiveConnections?: boolean): Promise<void> | void;
  upgrade(request: Request, options: { headers?: HeadersInit; data: SocketData }): boolean;
}
interface BunSocket {
  data: SocketData;
  readyState: number;
  send(data: Uint8Array): number;
  close(code?: number, reason?: string): void;
}
interface SocketData {
  handlers: SocketHandlers;
  socket?: ServerSocket;
}
interface BunApi {
  serve(options: {
    port: number;
    hostname: string;
    fetch: (request: Request, server: BunServer) => Response | Promise<Response> | undefined;
    websocket: {
      idleTimeout?: number;
      sendPings?: boolean;
      open(ws: BunSocket): void;
      message(ws: BunSocket, message: string | Uint8Array): void;
      close(ws: BunSocket, code: number, reason: string): void;
    };
    error?: (error: Error) => Response;
  }): BunServer;
}

/** Bun sends pings itself; this is the idle time after which an unresponsive peer is dropped. */
const BUN_IDLE_TIMEOUT_SECONDS = 40;

export function createBunRuntime(): Runtime {
  const bun = (globalThis as unknown as { Bun: BunApi }).Bun;
  let server: BunServer | undefined;

  const websocket = {
    idleTimeout: BUN_IDLE_TIMEOUT_SECONDS,
    sendPings: true,
    open(ws: BunSocket) {
      const socket: ServerSocket = {
        send: (data) => {
          if (ws.readyState === 1) ws.send(data);
        },
        close: (code, reason) => ws.close(code, reason),
      };
      ws.data.socket = socket;
      ws.data.handlers.onOpen(socket);
    },
    message(ws: BunSocket, message: string | Uint8Array) {
      const data = typeof message === "string" ? message : new Uint8Array(message);
      ws.data.handlers.onMessage(ws.data.socket!, data);
    },
    close(ws: BunSocket, code: number, reason: string) {
      ws.data.handlers.onClose(code, reason);
    },
  };

  function upgradeWebSocket(request: Request, options: UpgradeOptions): Response | undefined {
    if (!server || request.headers.get("upgrade")?.toLowerCase() !== "websocket") return undefined;
    const headers: Record<string, string> = {};
    if (options.protocol) headers["Sec-WebSocket-Protocol"] = options.protocol;
    const ok = server.upgrade(request, { headers, data: { handlers: options.handlers } });
    // Bun answers the upgrade itself; the fetch handler must return nothing for it.
    // Bun has answered the handshake itself; the response returned here is ignored.
    return ok ? new Response(null) : undefined;
  }

  function serve(options: ServeOptions): ServeResult {
    try {
      const started = bun.serve({
        port: options.port,
        hostname: options.hostname,
        fetch: (request) => options.fetch(request),
        websocket,
        error: () => new Response("Internal server error", { status: 500 }),
      });
      server = started;
      return {
        ok: true,
        server: {
          port: started.port,
          close: async () => {
            await started.stop(false);
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
