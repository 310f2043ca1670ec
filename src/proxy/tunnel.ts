/**
 * The TCP-over-WebSocket tunnel (proxy-http-auth-config.md §3.13): each WebSocket accepted on
 * `/proxy` gets its own TCP connection to the proxy's local port, and bytes are shuttled both
 * ways, one binary message per TCP chunk, with no framing of their own. The session behind it
 * is an ordinary proxy session (password and all).
 */
import { connect, type Socket } from "node:net";
import type { Runtime, ServerSocket } from "../runtime/mod.ts";
import type { Logger } from "../telemetry/mod.ts";

export interface TunnelOptions {
  /** The proxy's TCP port (on this host). */
  port: number;
  logger: Logger;
}

const encoder = new TextEncoder();

/** An HTTP handler that upgrades `/proxy` requests and pipes them to the proxy port. */
export function proxyTunnelHandler(
  runtime: Pick<Runtime, "upgradeWebSocket">,
  options: TunnelOptions,
): (request: Request) => Response {
  return (request) => {
    let tcp: Socket | undefined;
    let ws: ServerSocket | undefined;
    let closed = false;
    const early: Uint8Array[] = [];
    const finish = (code: number, reason: string) => {
      if (closed) return;
      closed = true;
      tcp?.destroy();
      try {
        ws?.close(code, reason);
      } catch {
        // Already closing.
      }
    };
    const response = runtime.upgradeWebSocket(request, {
      handlers: {
        onOpen(socket) {
          ws = socket;
          const conn = connect({ host: "127.0.0.1", port: options.port });
          tcp = conn;
          conn.setNoDelay(true);
          conn.on("connect", () => {
            for (const chunk of early.splice(0)) conn.write(chunk);
          });
          conn.on("data", (chunk: Uint8Array) => {
            if (!closed) socket.send(new Uint8Array(chunk));
          });
          conn.on("error", (error) => {
            options.logger.warning(`Proxy tunnel connection failed: ${error.message}`);
            finish(1000, "Proxy connection failed");
          });
          conn.on("close", () => finish(1000, "Proxy connection closed"));
        },
        onMessage(_socket, data) {
          if (typeof data === "string") {
            // Only binary frames carry the tunnelled bytes.
            return finish(1000, "Text frames are not supported");
          }
          if (!tcp || tcp.connecting) early.push(data);
          else tcp.write(data);
        },
        onClose() {
          closed = true;
          tcp?.end();
        },
      },
    });
    return response ?? new Response(encoder.encode("Bad request"), { status: 400 });
  };
}
