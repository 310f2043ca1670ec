/** Deno implementation of the runtime contract. Loaded only when running under Deno. */
import type {
  Runtime,
  ServeOptions,
  ServeResult,
  ShutdownSignal,
  UpgradeOptions,
} from "./types.ts";

export function createDenoRuntime(): Runtime {
  return {
    name: "deno",
    env: () => Deno.env.toObject(),
    args: () => [...Deno.args],
    upgradeWebSocket,
    serve,
    onShutdownSignal(handler) {
      const listeners = (["SIGINT", "SIGTERM"] as const).map((signal) => {
        const listener = () => handler(signal as ShutdownSignal);
        Deno.addSignalListener(signal, listener);
        return () => Deno.removeSignalListener(signal, listener);
      });
      return () => listeners.forEach((remove) => remove());
    },
    exit: (code) => Deno.exit(code),
    onUncaughtError(handler) {
      globalThis.addEventListener("unhandledrejection", (event) => {
        event.preventDefault();
        handler(event.reason);
      });
      globalThis.addEventListener("error", (event) => {
        event.preventDefault();
        handler(event.error);
      });
    },
  };
}

function upgradeWebSocket(request: Request, options: UpgradeOptions): Response | undefined {
  if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") return undefined;
  let upgraded: ReturnType<typeof Deno.upgradeWebSocket>;
  try {
    upgraded = Deno.upgradeWebSocket(request, {
      protocol: options.protocol,
      idleTimeout: options.idleTimeoutSeconds,
    });
  } catch {
    return undefined;
  }
  const { socket, response } = upgraded;
  socket.binaryType = "arraybuffer";
  const server = {
    send: (data: Uint8Array) => {
      if (socket.readyState === WebSocket.OPEN) socket.send(data);
    },
    close: (code: number, reason: string) => {
      if (socket.readyState === WebSocket.OPEN || socket.readyState === WebSocket.CONNECTING) {
        socket.close(code, reason);
      }
    },
  };
  const { handlers } = options;
  socket.onopen = () => handlers.onOpen(server);
  socket.onmessage = (event) =>
    handlers.onMessage(
      server,
      typeof event.data === "string" ? event.data : new Uint8Array(event.data as ArrayBuffer),
    );
  socket.onclose = (event) => handlers.onClose(event.code, event.reason);
  return response;
}

function serve(options: ServeOptions): ServeResult {
  try {
    const server = Deno.serve({
      port: options.port,
      hostname: options.hostname,
      onListen: () => {},
      // Errors escaping a handler are bugs; answer 500 rather than Deno's default page.
      onError: () => new Response("Internal server error", { status: 500 }),
    }, options.fetch);
    return {
      ok: true,
      server: {
        port: server.addr.port,
        close: async () => {
          await server.shutdown();
        },
      },
    };
  } catch (error) {
    if (error instanceof Deno.errors.AddrInUse) {
      return { ok: false, error: { code: "ADDRESS_IN_USE", message: String(error) } };
    }
    return { ok: false, error: { code: "LISTEN_FAILED", message: String(error) } };
  }
}
