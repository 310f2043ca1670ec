/** Deno implementation of the runtime contract. Loaded only when running under Deno. */
import { QueuedConnection, type SendResult, withConnectTimeout } from "./queued_connection.ts";
import { serveBehindFront } from "./deno_http_front.ts";
import {
  type ClosableSocket,
  CLOSE_HANDSHAKE_WAIT_MS,
  OpenSockets,
  SHUTDOWN_REASON,
} from "./open_sockets.ts";
import { isWebSocketUpgrade } from "./upgrade_request.ts";
import {
  HTTP_HEADER_TIMEOUT_MS,
  HTTP_IDLE_TIMEOUT_MS,
  type ListenTcpResult,
  type Runtime,
  type ServeOptions,
  type ServeResult,
  type ShutdownSignal,
  type TcpConnection,
  type TcpConnectOptions,
  type TcpListenOptions,
  type UpgradeOptions,
  WEBSOCKET_MAX_MESSAGE_BYTES,
} from "./types.ts";

export function createDenoRuntime(): Runtime {
  return {
    name: "deno",
    env: () => Deno.env.toObject(),
    args: () => [...Deno.args],
    upgradeWebSocket,
    serve,
    listenTcp,
    connectTcp,
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

/** How often a sender waiting for a WebSocket to drain looks again. */
const DRAIN_POLL_MS = 5;

/**
 * Which server's open sockets a request's WebSocket joins: `upgradeWebSocket` gets only the
 * request, and one process may run several servers (tests do).
 */
const serverOf = new WeakMap<Request, OpenSockets<ClosableSocket>>();

function upgradeWebSocket(request: Request, options: UpgradeOptions): Response | undefined {
  if (!isWebSocketUpgrade(request)) return undefined;
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
    // Deno's WebSocket has no drain event: `bufferedAmount` is looked at every few ms.
    drained: async (bytes: number) => {
      while (socket.readyState === WebSocket.OPEN && socket.bufferedAmount > bytes) {
        await new Promise((resolve) => setTimeout(resolve, DRAIN_POLL_MS));
      }
    },
  };
  const { handlers } = options;
  const sockets = serverOf.get(request);
  socket.onopen = () => {
    sockets?.add(server);
    handlers.onOpen(server);
  };
  socket.onmessage = (event) =>
    handlers.onMessage(
      server,
      typeof event.data === "string" ? event.data : new Uint8Array(event.data as ArrayBuffer),
    );
  socket.onclose = (event) => {
    sockets?.delete(server);
    handlers.onClose(event.code, event.reason);
  };
  return response;
}

/**
 * The HTTP port: `Deno.serve` on a private Unix socket behind a relay that enforces header
 * and idle deadlines `Deno.serve` lacks (deno_http_front.ts).
 */
function serve(options: ServeOptions): ServeResult {
  const sockets = new OpenSockets<ClosableSocket>();
  const fetch = (request: Request) => {
    serverOf.set(request, sockets);
    return options.fetch(request);
  };
  const served = serveBehindFront({
    port: options.port,
    hostname: options.hostname,
    deadlines: {
      headerTimeoutMs: options.headerTimeoutMs ?? HTTP_HEADER_TIMEOUT_MS,
      idleTimeoutMs: options.idleTimeoutMs ?? HTTP_IDLE_TIMEOUT_MS,
    },
    maxMessageBytes: options.maxMessageBytes ?? WEBSOCKET_MAX_MESSAGE_BYTES,
    serveUnix: (path) =>
      Deno.serve({
        transport: "unix",
        path,
        onListen: () => {},
        // Errors escaping a handler are bugs; answer 500 rather than Deno's default page.
        onError: () => new Response("Internal server error", { status: 500 }),
      }, fetch),
  });
  if (!served.ok) return served;
  const front = served.server;
  return {
    ok: true,
    server: {
      port: front.port,
      close: async () => {
        await sockets.closeAll(SHUTDOWN_REASON, CLOSE_HANDSHAKE_WAIT_MS);
        await front.close();
      },
    },
  };
}

/** Bytes asked for per read; a read that fills less than half of it is copied out. */
const READ_SIZE = 64 * 1024;

/**
 * `Deno.Conn` read in a loop into one buffer: small reads are copied out (cheaper than a fresh
 * 64 KiB buffer per read), large ones take the buffer and a new one is allocated.
 */
class DenoTcpConnection extends QueuedConnection {
  #conn: Deno.TcpConn;
  #paused = false;
  #resumed?: () => void;

  constructor(conn: Deno.TcpConn) {
    super();
    this.#conn = conn;
    try {
      conn.setNoDelay(true);
    } catch {
      // Already reset by the peer; the first read reports it.
    }
  }

  protected send(bytes: Uint8Array): SendResult {
    return this.#conn.write(bytes);
  }

  protected shutdown(): void {
    try {
      this.#conn.close();
    } catch {
      // Already closed.
    }
    this.resumeReading(); // lets a paused read loop see the close and return
  }

  protected pauseReading(): void {
    this.#paused = true;
  }

  protected resumeReading(): void {
    this.#paused = false;
    const resumed = this.#resumed;
    this.#resumed = undefined;
    resumed?.();
  }

  protected startReading(): void {
    void this.#readLoop();
  }

  async #readLoop(): Promise<void> {
    let buffer = new Uint8Array(READ_SIZE);
    try {
      for (;;) {
        while (this.#paused && !this.isClosed) {
          await new Promise<void>((resolve) => this.#resumed = resolve);
        }
        if (this.isClosed) return;
        const n = await this.#conn.read(buffer);
        if (n === null) return this.peerEnded();
        let chunk: Uint8Array;
        if (n > READ_SIZE / 2) {
          chunk = buffer.subarray(0, n);
          buffer = new Uint8Array(READ_SIZE);
        } else {
          chunk = buffer.slice(0, n);
        }
        this.received(chunk);
      }
    } catch (error) {
      // After close() the pending read fails with BadResource/Interrupted: not an error.
      if (!this.isClosed) {
        this.closedByPeer(error instanceof Error ? error : new Error(String(error)));
      }
    }
  }
}

function listenTcp(options: TcpListenOptions): Promise<ListenTcpResult> {
  let listener: Deno.TcpListener;
  try {
    listener = Deno.listen({ hostname: options.hostname, port: options.port, transport: "tcp" });
  } catch (error) {
    const code = error instanceof Deno.errors.AddrInUse ? "ADDRESS_IN_USE" : "LISTEN_FAILED";
    return Promise.resolve({ ok: false, error: { code, message: String(error) } });
  }
  let closed = false;
  void (async () => {
    while (!closed) {
      let conn: Deno.TcpConn;
      try {
        conn = await listener.accept();
      } catch (error) {
        if (closed || error instanceof Deno.errors.BadResource) return;
        // Out of descriptors and the like: wait a little rather than spin.
        await new Promise((resolve) => setTimeout(resolve, 50));
        continue;
      }
      options.onConnection(new DenoTcpConnection(conn));
    }
  })();
  return Promise.resolve({
    ok: true,
    server: {
      port: (listener.addr as Deno.NetAddr).port,
      close: () => {
        if (!closed) {
          closed = true;
          listener.close();
        }
        return Promise.resolve();
      },
    },
  });
}

function connectTcp(options: TcpConnectOptions): Promise<TcpConnection> {
  const what = `${options.hostname}:${options.port}`;
  const connecting = Deno.connect({ hostname: options.hostname, port: options.port }).then(
    (conn) => new DenoTcpConnection(conn),
    (error) => {
      throw new Error(`connection to ${what} failed: ${(error as Error).message}`);
    },
  );
  return withConnectTimeout(connecting, options.timeoutMs, what);
}
