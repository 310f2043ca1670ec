/**
 * Waiting on observable conditions (never fixed sleeps), deadlines for promises, free ports.
 */
import { createServer } from "node:net";

/**
 * Resolves with the first truthy value of `probe`; rejects naming `what` after `timeoutMs`.
 * Errors thrown by the probe reject at once. `what` may be a function, evaluated on timeout
 * (e.g. to attach the service output collected so far).
 * @template T
 * @param {() => Promise<T | undefined | null | false> | T | undefined | null | false} probe
 * @param {{ timeoutMs?: number, intervalMs?: number, what?: string | (() => string) }} [options]
 * @returns {Promise<T>}
 */
export async function waitFor(probe, options = {}) {
  const { timeoutMs = 5000, intervalMs = 25, what = "condition" } = options;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return /** @type {T} */ (value);
    if (Date.now() >= deadline) {
      throw new Error(
        `Timed out after ${timeoutMs} ms waiting for ${
          typeof what === "function" ? what() : what
        }`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/**
 * `promise`, or a rejection with `message()` after `timeoutMs`.
 * @template T
 * @param {Promise<T>} promise
 * @param {number} timeoutMs
 * @param {() => string} message
 * @returns {Promise<T>}
 */
export async function withTimeout(promise, timeoutMs, message) {
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(message())), timeoutMs);
  });
  try {
    return /** @type {T} */ (await Promise.race([promise, timeout]));
  } finally {
    clearTimeout(timer);
  }
}

/** @returns {Promise<number>} a TCP port free on 127.0.0.1 right now */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
