/**
 * Runtime adapter: picks the Deno or Bun implementation of the small contract in `types.ts`.
 * Only this folder may name `Deno` or `Bun`; the rest of the service is runtime-neutral.
 */
export type {
  FetchHandler,
  HttpServerHandle,
  Runtime,
  RuntimeName,
  ServeOptions,
  ServeResult,
  ServerSocket,
  ShutdownSignal,
  SocketHandlers,
  UpgradeOptions,
} from "./types.ts";

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
