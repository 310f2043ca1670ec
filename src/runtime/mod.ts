/**
 * Runtime adapter: picks the Deno or Bun implementation of the small contract in `types.ts`.
 * Only this folder may name `Deno` or `Bun`; the rest of the service is runtime-neutral.
 * `node_tcp.ts` implements the raw-TCP part over `node:net` for callers given no runtime and
 * for sockets that only `node:tls` can produce.
 */
export type {
  FetchHandler,
  HttpServerHandle,
  ListenTcpResult,
  Runtime,
  RuntimeName,
  ServeOptions,
  ServeResult,
  ServerSocket,
  ShutdownSignal,
  SocketHandlers,
  TcpConnection,
  TcpConnectOptions,
  TcpHandlers,
  TcpListenOptions,
  TcpRuntime,
  TcpServerHandle,
  UpgradeOptions,
} from "./types.ts";
export { createNodeTcp, nodeSocketConnection } from "./node_tcp.ts";
export { hasUpgradeOption, isWebSocketKey } from "./upgrade_request.ts";

/** Which runtime is executing this process. */
export function detectRuntime(): "deno" | "bun" {
  return "Deno" in globalThis ? "deno" : "bun";
}

/** Loads the implementation for the current runtime (the other one is never evaluated). */
export async function loadRuntime(): Promise<import("./types.ts").Runtime> {
  if (detectRuntime() === "deno") {
    const { createDenoRuntime } = await import("./deno.ts");
    return createDenoRuntime();
  }
  const { createBunRuntime } = await import("./bun.ts");
  return createBunRuntime();
}
