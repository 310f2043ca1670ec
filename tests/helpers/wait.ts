/**
 * Polling for tests: wait on an observable condition with a short interval and a deadline,
 * never on a fixed sleep. Errors thrown by the probe are not retried; they reject at once so a
 * broken probe fails loudly instead of looking like a timeout.
 */

export interface WaitOptions {
  /** Default 5000. */
  timeoutMs?: number;
  /** Default 20. */
  intervalMs?: number;
  /**
   * Named in the timeout error, e.g. "replication slot to become inactive"; a function is
   * called only then (to attach, say, a service's output at that moment).
   */
  what?: string | (() => string);
}

/** Resolves with the first truthy value `probe` returns; rejects naming `what` on timeout. */
export async function waitFor<T>(
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  options: WaitOptions = {},
): Promise<T> {
  const { timeoutMs = 5000, intervalMs = 20, what = "condition" } = options;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() >= deadline) {
      const named = typeof what === "function" ? what() : what;
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${named}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/**
 * For a test that runs a benchmark script: the script always runs under Deno (`deno run …`)
 * with the service it measures under Bun, whichever test runner starts the test, so the same
 * command would run twice. It runs once, from the Deno test run; under Bun the test is skipped
 * with this reason.
 */
export const ONCE_UNDER_DENO: string | false = "Deno" in globalThis
  ? false
  : "runs the benchmark script under Deno, as the Deno test run does already";
