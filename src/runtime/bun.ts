/** Bun implementation of the runtime contract. Loaded only when running under Bun. */
import process from "node:process";
import { QueuedConnection, type SendResult, withConnectTimeout } from "./queued_connection.ts";
import { isWebSocketUpgrade } from "./upgrade_request.ts";
import { CLOSE_HANDSHAKE_WAIT_MS, OpenSockets, SHUTDOWN_REASON } from "./open_sockets.ts";
import {
  HTTP_HEADER_TIMEOUT_MS,
  HTTP_IDLE_TIMEOUT_MS,
  type ListenTcpResult,
  type Runtime,
  type ServeOptions,
  type ServeResult,
  type ServerSocket,
  type SocketHandlers,
  type TcpConnection,
  type TcpConnectOptions,
  type TcpListenOptions,
  type UpgradeOptions,
  WEBSOCKET_MAX_MESSAGE_BYTES,
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
  getBufferedAmount(): number;
}
interface SocketData {
  handlers: SocketHandlers;
  socket?: BunServerSocket;
  /** The open sockets of the server this one belongs to (closed with it). */
  sockets: OpenSockets<BunServerSocket>;
}
/** A socket of `Bun.listen`/`Bun.connect`; `write` sends what the kernel takes, no more. */
interface BunTcpSocket {
  data: BunTcpConnection | undefined;
  write(data: Uint8Array): number;
  end(): void;
  terminate(): void;
  pause(): void;
  resume(): void;
  setNoDelay(noDelay?: boolean): boolean;
}
interface BunTcpHandlers {
  open(socket: BunTcpSocket): void;
  data(socket: BunTcpSocket, data: Uint8Array): void;
  drain(socket: BunTcpSocket): void;
  end(socket: BunTcpSocket): void;
  close(socket: BunTcpSocket, error?: Error): void;
  error(socket: BunTcpSocket, error: Error): void;
  connectError?(socket: BunTcpSocket, error: Error): void;
}
interface BunTcpListener {
  readonly port: number;
  stop(closeActiveConnections?: boolean): void;
}
interface BunApi {
  listen(options: { hostname: string; port: number; socket: BunTcpHandlers }): BunTcpListener;
  connect(options: { hostname: string; port: number; socket: BunTcpHandlers }): Promise<
    BunTcpSocket
  >;
  serve(options: {
    port: number;
    hostname: string;
    /** Seconds without a byte before an HTTP connection is closed. */
    idleTimeout?: number;
    fetch: (request: Request, server: BunServer) => Response | Promise<Response> | undefined;
    websocket: {
      idleTimeout?: number;
      maxPayloadLength?: number;
      sendPings?: boolean;
      open(ws: BunSocket): void;
      message(ws: BunSocket, message: string | Uint8Array): void;
      drain(ws: BunSocket): void;
      close(ws: BunSocket, code: number, reason: string): void;
    };
    error?: (error: Error) => Response;
  }): BunServer;
}

/** One per connection; a class so that connections cost no closures. */
class BunServerSocket implements ServerSocket {
  readonly #ws: BunSocket;
  /** Senders waiting for the socket to drain; woken by Bun's `drain` callback or the close. */
  #draining: (() => void)[] | undefined;

  constructor(ws: BunSocket) {
    this.#ws = ws;
  }

  async drained(bytes: number): Promise<void> {
    while (this.#ws.readyState === 1 && this.#ws.getBufferedAmount() > bytes) {
      await new Promise<void>((resolve) => (this.#draining ??= []).push(resolve));
    }
  }

  /** Bun's `drain`, or the socket closed. */
  wake(): void {
    const waiting = this.#draining;
    this.#draining = undefined;
    for (const resolve of waiting ?? []) resolve();
  }

  send(data: Uint8Array): void {
    if (this.#ws.readyState === 1) this.#ws.send(data);
  }

  close(code: number, reason: string): void {
    this.#ws.close(code, reason);
  }
}

/** Bun sends pings itself; this is the idle time after which an unresponsive peer is dropped. */
const BUN_IDLE_TIMEOUT_SECONDS = 40;

export function createBunRuntime(): Runtime {
  const bun = (globalThis as unknown as { Bun: BunApi }).Bun;
  let server: BunServer | undefined;
  let serverSockets: OpenSockets<BunServerSocket> | undefined;

  const websocket = {
    idleTimeout: BUN_IDLE_TIMEOUT_SECONDS,
    sendPings: true,
    open(ws: BunSocket) {
      const socket = new BunServerSocket(ws);
      ws.data.socket = socket;
      ws.data.sockets.add(socket);
      ws.data.handlers.onOpen(socket);
    },
    message(ws: BunSocket, message: string | Uint8Array) {
      // Bun hands binary messages over as a Buffer, which is a Uint8Array: no copy needed.
      ws.data.handlers.onMessage(ws.data.socket!, message);
    },
    drain(ws: BunSocket) {
      ws.data.socket?.wake();
    },
    close(ws: BunSocket, code: number, reason: string) {
      if (ws.data.socket) ws.data.sockets.delete(ws.data.socket);
      ws.data.socket?.wake();
      ws.data.handlers.onClose(code, reason);
    },
  };

  function upgradeWebSocket(request: Request, options: UpgradeOptions): Response | undefined {
    if (!server || !isWebSocketUpgrade(request)) return undefined;
    const headers: Record<string, string> = {};
    if (options.protocol) headers["Sec-WebSocket-Protocol"] = options.protocol;
    const data = { handlers: options.handlers, sockets: serverSockets! };
    const ok = server.upgrade(request, { headers, data });
    // Bun answers the upgrade itself; the fetch handler must return nothing for it.
    // Bun has answered the handshake itself; the response returned here is ignored.
    return ok ? new Response(null) : undefined;
  }

  function serve(options: ServeOptions): ServeResult {
    try {
      // Bun has one limit for a stalled request head and an idle connection alike.
      const idleMs = Math.min(
        options.headerTimeoutMs ?? HTTP_HEADER_TIMEOUT_MS,
        options.idleTimeoutMs ?? HTTP_IDLE_TIMEOUT_MS,
      );
      const started = bun.serve({
        port: options.port,
        hostname: options.hostname,
        idleTimeout: Math.max(1, Math.min(255, Math.round(idleMs / 1000))),
        fetch: (request) => options.fetch(request),
        websocket: {
          ...websocket,
          maxPayloadLength: options.maxMessageBytes ?? WEBSOCKET_MAX_MESSAGE_BYTES,
        },
        error: () => new Response("Internal server error", { status: 500 }),
      });
      server = started;
      const sockets = serverSockets = new OpenSockets<BunServerSocket>();
      return {
        ok: true,
        server: {
          port: started.port,
          // Bun's stop(false) would wait for every WebSocket client to leave on its own.
          close: async () => {
            await sockets.closeAll(SHUTDOWN_REASON, CLOSE_HANDSHAKE_WAIT_MS);
            await started.stop(true);
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
    listenTcp: (options) => listenTcp(bun, options),
    connectTcp: (options) => connectTcp(bun, options),
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

/**
 * A Bun socket. Bun hands each `data` callback a fresh buffer and sends synchronously (a short
 * count when the kernel buffer is full, then `drain`), so the queue only holds what did not fit.
 */
class BunTcpConnection extends QueuedConnection {
  #socket: BunTcpSocket;
  #started = false;
  #paused = false;

  constructor(socket: BunTcpSocket) {
    super();
    this.#socket = socket;
    socket.data = this;
    socket.setNoDelay(true);
  }

  /** From the socket handlers. */
  onData(data: Uint8Array): void {
    this.received(data);
    // Hold the peer back until someone listens.
    if (!this.#started && !this.#paused) this.#socket.pause();
  }
  onDrain(): void {
    this.writable();
  }
  onEnd(): void {
    this.peerEnded();
  }
  onClose(error?: Error): void {
    this.closedByPeer(error);
  }

  protected send(bytes: Uint8Array): SendResult {
    return this.#socket.write(bytes);
  }

  protected shutdown(graceful: boolean): void {
    if (graceful) this.#socket.end();
    else this.#socket.terminate();
  }

  protected pauseReading(): void {
    this.#paused = true;
    this.#socket.pause();
  }

  protected resumeReading(): void {
    this.#paused = false;
    this.#socket.resume();
  }

  protected startReading(): void {
    this.#started = true;
    if (!this.#paused) this.#socket.resume();
  }
}

function socketHandlers(onOpen: (connection: BunTcpConnection) => void): BunTcpHandlers {
  return {
    open: (socket) => onOpen(new BunTcpConnection(socket)),
    data: (socket, data) => socket.data?.onData(data),
    drain: (socket) => socket.data?.onDrain(),
    end: (socket) => socket.data?.onEnd(),
    close: (socket, error) => socket.data?.onClose(error),
    error: (socket, error) => socket.data?.onClose(error),
  };
}

function listenTcp(bun: BunApi, options: TcpListenOptions): Promise<ListenTcpResult> {
  let listener: BunTcpListener;
  try {
    listener = bun.listen({
      hostname: options.hostname,
      port: options.port,
      socket: socketHandlers((connection) => options.onConnection(connection)),
    });
  } catch (error) {
    const code = (error as { code?: string }).code === "EADDRINUSE"
      ? "ADDRESS_IN_USE"
      : "LISTEN_FAILED";
    return Promise.resolve({ ok: false, error: { code, message: String(error) } });
  }
  return Promise.resolve({
    ok: true,
    server: {
      port: listener.port,
      close: () => {
        listener.stop(false);
        return Promise.resolve();
      },
    },
  });
}

function connectTcp(bun: BunApi, options: TcpConnectOptions): Promise<TcpConnection> {
  const what = `${options.hostname}:${options.port}`;
  const connecting = bun.connect({
    hostname: options.hostname,
    port: options.port,
    socket: socketHandlers(() => {}),
  }).then(
    (socket) => socket.data!,
    (error) => {
      throw new Error(`connection to ${what} failed: ${(error as Error).message}`);
    },
  );
  return withConnectTimeout(connecting, options.timeoutMs, what);
}
