/** Waits on a stream position: resolves waiters once the position reached is at or past theirs. */
export class LsnWaiters {
  #waiting: { lsn: bigint; resolve: (reached: boolean) => void }[] = [];
  #reached = -1n;

  /** The stream got to `lsn`. */
  reached(lsn: bigint): void {
    if (lsn <= this.#reached) return;
    this.#reached = lsn;
    if (this.#waiting.length === 0) return;
    const still = [];
    for (const waiter of this.#waiting) {
      if (waiter.lsn <= lsn) waiter.resolve(true);
      else still.push(waiter);
    }
    this.#waiting = still;
  }

  /** True once the stream is at or past `lsn`; false after `timeoutMs` without. */
  wait(lsn: bigint, timeoutMs: number): Promise<boolean> {
    if (lsn <= this.#reached) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#waiting = this.#waiting.filter((w) => w !== waiter);
        resolve(false);
      }, timeoutMs);
      const waiter = {
        lsn,
        resolve: (reached: boolean) => {
          clearTimeout(timer);
          resolve(reached);
        },
      };
      this.#waiting.push(waiter);
    });
  }
}
