/**
 * The raw-TCP contract over `node:net`, which Deno and Bun both implement: the fallback for
 * callers given no runtime, and the wrapper for sockets only `node:tls` can produce (a
 * Postgres connection upgraded to TLS after its SSLRequest). Slower than the native files (the
 * compatibility layers cost several microseconds per read and write), but the same behaviour.
 */
import { connect, createServer, type Socket } from "node:net";
import { QueuedConnection, type SendResult, withConnectTimeout } from "./queued_connection.ts";
import type { ListenTcpResult, TcpConnection, TcpConnectOptions, TcpRuntime } from "./types.ts";

class NodeTcpConnection extends QueuedConnection {
  #socket: Socket;
  #error?: Error;

  constructor(socket: Socket) {
    super();
    this.#socket = socket;
    socket.setNoDelay?.(true);
    // Until start() attaches a data listener the socket does not flow; errors are kept.
    socket.on("error", (error) => this.#error = error);
    socket.on("close", () => this.closedByPeer(this.#error));
  }

  protected send(bytes: Uint8Array): SendResult {
    if (this.#socket.write(bytes)) return bytes.length;
    // Node buffered it; report it sent once its buffer drains, so our queue holds back writers.
    return new Promise((resolve) => {
      const done = () => {
        this.#socket.off("drain", done);
        this.#socket.off("close", done);
        resolve(bytes.length);
      };
      this.#socket.on("drain", done);
      this.#socket.on("close", done);
    });
  }

  protected shutdown(graceful: boolean): void {
    if (graceful) this.#socket.end(() => this.#socket.destroy());
    else this.#socket.destroy();
  }

  protected pauseReading(): void {
    this.#socket.pause();
  }

  protected resumeReading(): void {
    this.#socket.resume();
  }

  protected startReading(): void {
    this.#socket.on("data", (chunk: Uint8Array) => this.received(chunk));
    this.#socket.on("end", () => this.peerEnded());
    this.#socket.resume();
  }
}

/** Wraps a connected `node:net` or `node:tls` socket. */
export function nodeSocketConnection(socket: Socket): TcpConnection {
  return new NodeTcpConnection(socket);
}

export function createNodeTcp(): TcpRuntime {
  return {
    listenTcp(options) {
      const server = createServer({ noDelay: true, pauseOnConnect: true }, (socket) => {
        options.onConnection(new NodeTcpConnection(socket));
      });
      return new Promise<ListenTcpResult>((resolve) => {
        server.once("error", (error: Error & { code?: string }) =>
          resolve({
            ok: false,
            error: {
              code: error.code === "EADDRINUSE" ? "ADDRESS_IN_USE" : "LISTEN_FAILED",
              message: error.message,
            },
          }));
        server.listen({ port: options.port, host: options.hostname }, () => {
          const address = server.address();
          resolve({
            ok: true,
            server: {
              port: typeof address === "object" && address ? address.port : options.port,
              close: () => new Promise<void>((done) => server.close(() => done())),
            },
          });
        });
      });
    },
    connectTcp(options: TcpConnectOptions) {
      const what = `${options.hostname}:${options.port}`;
      const connecting = new Promise<TcpConnection>((resolve, reject) => {
        const socket = connect({ host: options.hostname, port: options.port });
        const onError = (error: Error) =>
          reject(new Error(`connection to ${what} failed: ${error.message}`));
        socket.once("error", onError);
        socket.once("connect", () => {
          socket.off("error", onError);
          resolve(new NodeTcpConnection(socket));
        });
      });
      return withConnectTimeout(connecting, options.timeoutMs, what);
    },
  };
}
