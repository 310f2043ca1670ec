/**
 * Condition polling for startup and shutdown. Waiting is always on an observable condition
 * (a port answering, a process gone), never a fixed sleep, so slow machines only cost time.
 */

export type Probe<T> = () => Promise<T | undefined | false> | T | undefined | false;

/** Calls `probe` every `intervalMs` until it returns a truthy value; `undefined` on timeout. */
export async function pollUntil<T>(
  probe: Probe<T>,
  options: { timeoutMs: number; intervalMs?: number },
): Promise<T | undefined> {
  const deadline = Date.now() + options.timeoutMs;
  const interval = options.intervalMs ?? 50;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() >= deadline) return undefined;
    await new Promise((resolve) => setTimeout(resolve, interval));
  }
}
