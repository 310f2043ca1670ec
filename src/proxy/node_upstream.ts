/**
 * The upstream connection when Postgres may speak TLS (any `sslmode` but `disable`): SSLRequest
 * on a `node:net` socket, then `node:tls` over the same socket when the server answers 'S'.
 * Only `node:tls` can upgrade an open socket with the options Postgres needs (no certificate
 * check unless SSL is required), so this path stays on the node layers; with
 * `sslmode=disable` the proxy connects through the runtime's native TCP instead.
 */
import { connect as netConnect, type Socket } from "node:net";
import { connect as tlsConnect } from "node:tls";
import { encodeStartup } from "../pgwire/mod.ts";
import { nodeSocketConnection, type TcpConnection } from "../runtime/mod.ts";

export interface TlsUpstreamOptions {
  address: string;
  port: number;
  /** The configured host name (for certificate checks). */
  servername: string;
  requireSsl: boolean;
  connectTimeoutMs: number;
}

export async function connectNegotiatingTls(options: TlsUpstreamOptions): Promise<TcpConnection> {
  let socket = await tcpConnect(options.address, options.port, options.connectTimeoutMs);
  socket.write(encodeStartup({ type: "SSLRequest" }));
  const answer = await readOneByte(socket);
  if (answer === 0x53) { // 'S': upgrade to TLS
    socket = await new Promise<Socket>((resolve, reject) => {
      const tls = tlsConnect({
        socket,
        rejectUnauthorized: options.requireSsl,
        ...(options.requireSsl ? { servername: options.servername } : {}),
      }, () => resolve(tls));
      tls.once("error", reject);
    });
  } else if (answer !== 0x4e) { // 'N': continue in plain text
    socket.destroy();
    throw new Error("Postgres answered the SSL request with an unexpected byte");
  }
  return nodeSocketConnection(socket);
}

function tcpConnect(host: string, port: number, timeoutMs: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = netConnect({ host, port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`connection to ${host}:${port} timed out`));
    }, timeoutMs);
    socket.once("connect", () => {
      clearTimeout(timer);
      socket.removeAllListeners("error");
      resolve(socket);
    });
    socket.once("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

function readOneByte(socket: Socket): Promise<number> {
  return new Promise((resolve, reject) => {
    const onData = (chunk: Uint8Array) => {
      socket.off("error", onError);
      socket.pause();
      if (chunk.length > 1) socket.unshift(chunk.subarray(1));
      resolve(chunk[0]);
    };
    const onError = (error: Error) => {
      socket.off("data", onData);
      reject(error);
    };
    socket.once("data", onData);
    socket.once("error", onError);
  });
}
