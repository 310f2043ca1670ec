/**
 * The floor under scenario g: a WebSocket server with nothing behind it, on the runtime the
 * service runs on (Bun.serve or Deno.serve), answering each message with 4 KiB. What an idle
 * connection costs here is what the runtime itself charges per socket.
 *
 *   bun scripts/bench/sync/bare_ws_server.ts <port>   (or: deno run -A … <port>)
 *
 * Prints `listening` once it accepts connections.
 */
const port = Number(
  (globalThis as { Deno?: { args: string[] } }).Deno?.args[0] ?? process.argv[2],
);
const answer = new Uint8Array(4096);

interface BunServe {
  serve(options: {
    port: number;
    hostname: string;
    fetch(request: Request, server: { upgrade(r: Request): boolean }): Response | undefined;
    websocket: { message(ws: { send(d: Uint8Array): void }): void };
  }): unknown;
}
interface DenoServe {
  serve(
    options: { port: number; hostname: string; onListen(): void },
    handler: (request: Request) => Response,
  ): unknown;
  upgradeWebSocket(request: Request): { socket: WebSocket; response: Response };
}

const bun = (globalThis as { Bun?: BunServe }).Bun;
if (bun) {
  bun.serve({
    port,
    hostname: "127.0.0.1",
    fetch: (request, server) =>
      server.upgrade(request) ? undefined : new Response("upgrade only", { status: 400 }),
    websocket: { message: (ws) => ws.send(answer) },
  });
  console.log("listening");
} else {
  const deno = (globalThis as unknown as { Deno: DenoServe }).Deno;
  deno.serve({ port, hostname: "127.0.0.1", onListen: () => console.log("listening") }, (req) => {
    const { socket, response } = deno.upgradeWebSocket(req);
    socket.binaryType = "arraybuffer";
    socket.onmessage = () => socket.send(answer);
    return response;
  });
}
