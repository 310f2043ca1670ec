/**
 * The transaction log: where replication appends transactions and where every consumer
 * (Satellite sessions, the logical publisher, the migration consumer) reads them, by LSN and
 * at its own pace. The replication connection is never touched from here.
 *
 * The in-memory implementation is the transaction cache of §7.7 of postgres-side.md, bounded
 * by the sum of the transactions' `byteSize` (oldest evicted first). Note: the reference
 * bounds it by LSN distance instead; a byte budget bounds memory, which is what the option
 * is documented to do. A read older than the cache can fall back to re-reading retained WAL
 * through the `onRetainedRead` hook, which is why `readAfter` is async.
 */
import type { MetricsRegistry } from "../telemetry/mod.ts";
import type { Transaction } from "./transaction.ts";

export type ReadResult =
  | { kind: "ok"; transactions: Transaction[] }
  | { kind: "behind_window" };

/** Re-reads transactions with `fromLsn < lsn <= toLsn` from retained WAL. */
export type RetainedReader = (fromLsn: bigint, toLsn: bigint) => Promise<ReadResult>;

export interface AppendInfo {
  /** Re-read after a restart and already handed on before it: not new to consumers. */
  replayed: boolean;
}

export type TransactionListener = (transaction: Transaction, info: AppendInfo) => void;

export type FollowEvent =
  | { kind: "transaction"; transaction: Transaction; replayed: boolean }
  | { kind: "behind_window" };

export interface TransactionLog {
  /** Adds a transaction; ignored (false) unless its LSN is after `lastLsn()`. */
  append(transaction: Transaction, info?: AppendInfo): boolean;
  /**
   * Declares that every transaction after `lsn` will be appended (the stream's start). Only
   * takes effect while the log is empty: after a reconnect the log already covers more.
   */
  markStart(lsn: bigint): void;
  firstLsn(): bigint | undefined;
  lastLsn(): bigint | undefined;
  /** The stream position: the last LSN, or the start when nothing arrived yet. */
  endLsn(): bigint | undefined;
  /**
   * Waits until the stream has reached `lsn` (`endLsn() >= lsn`), at most `timeoutMs`;
   * false when it has not by then.
   */
  reach(lsn: bigint, timeoutMs: number): Promise<boolean>;
  /** Transactions with LSN > `lsn`; waits until the log knows where it starts. */
  readAfter(lsn: bigint): Promise<ReadResult>;
  /** Called synchronously on each append; must not block. Returns an unsubscribe function. */
  subscribe(listener: TransactionListener): () => void;
  /** Every transaction after `lsn`, now and as they arrive, pulled at the consumer's pace. */
  follow(lsn: bigint, signal: AbortSignal): AsyncIterable<FollowEvent>;
  /** Installs the fallback used when a read starts before the cache. */
  onRetainedRead(reader: RetainedReader | undefined): void;
}

interface Entry {
  transaction: Transaction;
  replayed: boolean;
}

export interface InMemoryTransactionLogOptions {
  /** ELECTRIC_TXN_CACHE_SIZE: the budget for the sum of `byteSize`. */
  maxBytes: number;
  /** Registers the cache's gauges (`electric_transaction_cache_*`). */
  metrics?: MetricsRegistry;
  readRetained?: RetainedReader;
}

export class InMemoryTransactionLog implements TransactionLog {
  #maxBytes: number;
  #entries: Entry[] = [];
  #head = 0;
  #bytes = 0;
  /** Every transaction with LSN > this is in the cache. */
  #coveredFrom: bigint | undefined;
  #listeners = new Set<TransactionListener>();
  #waiters = new Set<() => void>();
  #readRetained: RetainedReader | undefined;

  constructor(options: InMemoryTransactionLogOptions) {
    this.#maxBytes = options.maxBytes;
    this.#readRetained = options.readRetained;
    const metrics = options.metrics;
    if (metrics) {
      metrics.gaugeFrom(
        "electric_transaction_cache_bytes",
        "Estimated size of the transactions held in the in-memory cache, in bytes.",
        () => this.#bytes,
      );
      metrics.gaugeFrom(
        "electric_transaction_cache_limit_bytes",
        "Size the transaction cache is kept under (ELECTRIC_TXN_CACHE_SIZE), in bytes.",
        () => this.#maxBytes,
      );
      metrics.gaugeFrom(
        "electric_transaction_cache_transactions",
        "Transactions held in the in-memory cache.",
        () => this.size,
      );
    }
  }

  onRetainedRead(reader: RetainedReader | undefined): void {
    this.#readRetained = reader;
  }

  get size(): number {
    return this.#entries.length - this.#head;
  }

  /** Sum of the cached transactions' `byteSize`. */
  get bytes(): number {
    return this.#bytes;
  }

  markStart(lsn: bigint): void {
    if (this.#coveredFrom !== undefined || this.size > 0) return;
    this.#coveredFrom = lsn;
    this.#wake();
  }

  firstLsn(): bigint | undefined {
    return this.#entries[this.#head]?.transaction.lsn;
  }

  lastLsn(): bigint | undefined {
    return this.#entries.at(-1)?.transaction.lsn;
  }

  endLsn(): bigint | undefined {
    return this.lastLsn() ?? this.#coveredFrom;
  }

  append(transaction: Transaction, info: AppendInfo = { replayed: false }): boolean {
    const last = this.lastLsn();
    if (last !== undefined && transaction.lsn <= last) return false;
    if (this.#coveredFrom !== undefined && transaction.lsn <= this.#coveredFrom) return false;
    this.#coveredFrom ??= transaction.lsn - 1n;
    this.#entries.push({ transaction, replayed: info.replayed });
    this.#bytes += transaction.byteSize;
    this.#evict();
    for (const listener of this.#listeners) {
      try {
        listener(transaction, info);
      } catch {
        // A failing listener must not stop the others or the reader.
      }
    }
    this.#wake();
    return true;
  }

  async reach(lsn: bigint, timeoutMs: number): Promise<boolean> {
    const reached = () => (this.endLsn() ?? -1n) >= lsn;
    if (reached()) return true;
    const deadline = AbortSignal.timeout(timeoutMs);
    while (!reached() && !deadline.aborted) await abortable(this.#nextChange(), deadline);
    return reached();
  }

  subscribe(listener: TransactionListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  async readAfter(lsn: bigint): Promise<ReadResult> {
    const entries = await this.#entriesAfter(lsn);
    if (entries === undefined) return { kind: "behind_window" };
    return { kind: "ok", transactions: entries.map((e) => e.transaction) };
  }

  async *follow(lsn: bigint, signal: AbortSignal): AsyncIterable<FollowEvent> {
    let position = lsn;
    while (!signal.aborted) {
      const changed = this.#nextChange();
      const entries = await this.#entriesAfter(position);
      if (entries === undefined) {
        yield { kind: "behind_window" };
        return;
      }
      for (const entry of entries) {
        if (signal.aborted) return;
        position = entry.transaction.lsn;
        yield { kind: "transaction", ...entry };
      }
      if (entries.length === 0) await abortable(changed, signal);
    }
  }

  /** Cached entries after `lsn`, else via retained WAL; undefined means behind the window. */
  async #entriesAfter(lsn: bigint): Promise<Entry[] | undefined> {
    while (this.#coveredFrom === undefined) await this.#nextChange();
    for (let attempt = 0; attempt < 3; attempt++) {
      const coveredFrom = this.#coveredFrom;
      if (lsn >= coveredFrom) return this.#cachedAfter(lsn);
      if (!this.#readRetained) return undefined;
      const retained = await this.#readRetained(lsn, coveredFrom);
      if (retained.kind === "behind_window") return undefined;
      // The cache may have moved on while WAL was being read; only then try again.
      if (this.#coveredFrom > coveredFrom) continue;
      const older = retained.transactions
        .filter((tx) => tx.lsn > lsn && tx.lsn <= coveredFrom)
        .map((transaction) => ({ transaction, replayed: true }));
      return [...older, ...this.#cachedAfter(coveredFrom)];
    }
    return undefined;
  }

  #cachedAfter(lsn: bigint): Entry[] {
    // Binary search for the first entry with LSN > lsn.
    let low = this.#head;
    let high = this.#entries.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (this.#entries[mid].transaction.lsn <= lsn) low = mid + 1;
      else high = mid;
    }
    return this.#entries.slice(low);
  }

  #evict(): void {
    while (this.#bytes > this.#maxBytes && this.size > 1) {
      const { transaction } = this.#entries[this.#head++];
      this.#bytes -= transaction.byteSize;
      this.#coveredFrom = transaction.lsn;
    }
    if (this.#head > 1024 && this.#head * 2 > this.#entries.length) {
      this.#entries = this.#entries.slice(this.#head);
      this.#head = 0;
    }
  }

  #nextChange(): Promise<void> {
    return new Promise((resolve) => this.#waiters.add(resolve));
  }

  #wake(): void {
    const waiters = [...this.#waiters];
    this.#waiters.clear();
    for (const wake of waiters) wake();
  }
}

function abortable(promise: Promise<void>, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      signal.removeEventListener("abort", done);
      resolve();
    };
    signal.addEventListener("abort", done, { once: true });
    promise.then(done);
  });
}
