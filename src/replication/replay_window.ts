/**
 * Where to acknowledge the live slot once a position is persisted: a little behind it, so a
 * start streams the most recent transactions again (as replays, into the transaction cache),
 * where clients that had not yet received them at the stop resume from.
 *
 * A start decodes every replayed transaction from its first change, so the replay is bounded
 * by the transactions' own size, not only by WAL distance: the acknowledged position sits
 * right after a transaction, and the ones after it add up to at most `budget` bytes. A single
 * transaction larger than that is not replayed at all (a start would spend seconds decoding
 * it before new commits flow); clients behind it read it from the retained window instead.
 * With nothing to replay, the persisted position itself is acknowledged: the slot's restart
 * point only moves up to positions it has confirmed (restart_point.ts).
 * The position also stays within `budget` bytes of WAL of the persisted one, and never moves
 * back (Postgres would take a step back as it is).
 */
export class ReplayWindow {
  #budget: bigint;
  #lsns: bigint[] = [];
  #sizes: number[] = [];
  #head = 0;
  #acked: bigint;

  /** `acked`: where the slot is acknowledged now (where the stream started). */
  constructor(options: { budget: bigint; acked: bigint }) {
    this.#budget = options.budget;
    this.#acked = options.acked;
  }

  /** A transaction handed on, in stream order. */
  add(lsn: bigint, byteSize: number): void {
    if (this.#budget === 0n || lsn <= this.#acked) return;
    this.#lsns.push(lsn);
    this.#sizes.push(byteSize);
  }

  /** The position to acknowledge once `persisted` is stored. */
  ackFor(persisted: bigint): bigint {
    if (this.#budget === 0n) return this.#advance(persisted);
    let last = this.#lsns.length - 1;
    while (last >= this.#head && this.#lsns[last] > persisted) last--;
    // Walk back from the newest persisted transaction while the replay stays in budget.
    const budget = Number(this.#budget);
    let bytes = 0;
    let at = last;
    while (at >= this.#head && bytes + this.#sizes[at] <= budget) bytes += this.#sizes[at--];
    // Nothing to replay: the position itself, so that the restart point can follow it.
    if (at === last) return this.#advance(persisted);
    const afterTransaction = at >= this.#head ? this.#lsns[at] : this.#acked;
    const byDistance = persisted - this.#budget;
    return this.#advance(afterTransaction > byDistance ? afterTransaction : byDistance);
  }

  #advance(lsn: bigint): bigint {
    if (lsn > this.#acked) this.#acked = lsn;
    while (this.#head < this.#lsns.length && this.#lsns[this.#head] <= this.#acked) this.#head++;
    if (this.#head > 1024 && this.#head * 2 > this.#lsns.length) {
      this.#lsns = this.#lsns.slice(this.#head);
      this.#sizes = this.#sizes.slice(this.#head);
      this.#head = 0;
    }
    return this.#acked;
  }
}
