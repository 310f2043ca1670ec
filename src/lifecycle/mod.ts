/**
 * The one lifecycle every long-running part follows: `run(signal)` works until the signal
 * aborts (or the part fails) and resolves once its resources are released. `src/main.ts`
 * owns the AbortController and decides when to stop.
 */

export interface Service {
  readonly name: string;
  run(signal: AbortSignal): Promise<void>;
}

/** Resolves after `ms`, or early (without throwing) when `signal` aborts. */
export function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
  });
}

/** Resolves with `promise`'s value, or with `fallback` once `ms` pass. Never rejects on timeout. */
export function withTimeout<T, F>(promise: Promise<T>, ms: number, fallback: F): Promise<T | F> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<F>((resolve) => {
    timer = setTimeout(() => resolve(fallback), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Limits how many tasks run at once (e.g. snapshot readers holding pool connections). */
export class Limiter {
  #free: number;
  #waiting: (() => void)[] = [];

  constructor(slots: number) {
    this.#free = slots;
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.#free > 0) this.#free--;
    else await new Promise<void>((resolve) => this.#waiting.push(resolve));
    try {
      return await task();
    } finally {
      const next = this.#waiting.shift();
      if (next) next();
      else this.#free++;
    }
  }
}
