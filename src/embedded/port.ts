/** Loopback port helpers: pick a free port, check one, and probe whether something listens. */

import { createConnection, createServer } from "node:net";

const HOST = "127.0.0.1";

/** A port the OS reports free on 127.0.0.1 right now (another process may still take it). */
export function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once("error", reject);
    server.listen(0, HOST, () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => port > 0 ? resolve(port) : reject(new Error("No port assigned")));
    });
  });
}

/** True when `port` can be bound on 127.0.0.1. */
export function isPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once("error", () => resolve(false));
    server.listen(port, HOST, () => server.close(() => resolve(true)));
  });
}

/** True when a TCP connection to 127.0.0.1:`port` is accepted within `timeoutMs`. */
export function acceptsTcp(port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: HOST, port });
    const done = (result: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}
