/**
 * Coalesced retained reads: the `RetainedReader` the transaction log falls back to when a
 * consumer asks for transactions older than its cache. Each scan of retained WAL costs
 * Postgres a pass over the window from its start (retained.ts), so after a restart a thousand
 * clients resuming from similar positions must share one scan rather than start a thousand:
 * - requests are gathered briefly (`gatherMs`), then one scan reads from the oldest of them;
 * - a request arriving while a scan runs joins it when it starts at or after the position
 *   the scan reads from (or the scan has not picked one yet); the scan reads on until the
 *   newest end asked;
 * - one scan at a time: what cannot join waits for the next one, started when the running
 *   one ends, from the oldest waiting position;
 * - the newest transactions of the last scan are kept for `keepMs` within `maxBytes`, so
 *   later requests inside that range start no scan at all.
 * Scans run on replication connections of their own: they never hold up the live stream or
 * migrations. What is kept is a copy next to the transaction cache; the cache's budget is a
 * fine bound for it.
 */
import {
  type RetainedReadOptions,
  type ScanResult,
  scanRetained,
  type ScanTarget,
} from "./retained.ts";
import type { ReadResult, RetainedReader } from "./transaction_log.ts";
import type { Transaction } from "./transaction.ts";

export interface RetainedReadsOptions extends RetainedReadOptions {
  /** Budget for the kept transactions (sum of `byteSize`). */
  maxBytes: number;
  /** How long the last scan's transactions are kept. Default 60 s. */
  keepMs?: number;
  /** How long the first request waits for others before a scan starts. Default 20 ms. */
  gatherMs?: number;
  /** Called when a scan starts (metrics, tests). */
  onScan?: (range: { floor: bigint; end: bigint }) => void;
  /** The scanner; default `scanRetained` (unit tests pass an in-memory one). */
  scan?: (options: RetainedReadOptions, target: ScanTarget) => Promise<ScanResult>;
}

/** Every transaction with `floor < lsn <= end`. */
export interface Covered {
  floor: bigint;
  end: bigint;
  /** Where the window started when they were read: older requests are behind it. */
  windowStart: bigint;
  transactions: Transaction[];
}

/** The running scan as the planner sees it. */
export interface ScanView {
  /** Where it reads from (final once `windowStart` is known): every transaction after it is kept. */
  floor: bigint;
  windowStart: bigint | undefined;
}

export type Plan = "kept" | "join" | "behind_window" | "wait";

/** How a request `(from, to]` is served. Pure. */
export function planRetainedRead(
  request: { from: bigint; to: bigint },
  state: { kept?: Omit<Covered, "transactions">; scan?: ScanView },
): Plan {
  const { from, to } = request;
  const { kept, scan } = state;
  // The main slot only moves forward: behind a window seen once is behind for good.
  const windowStart = scan?.windowStart ?? kept?.windowStart;
  if (windowStart !== undefined && from < windowStart) return "behind_window";
  if (kept && from >= kept.floor && to <= kept.end) return "kept";
  // Until the scan knows the window it has not chosen where to read from yet.
  if (scan && (scan.windowStart === undefined || from >= scan.floor)) return "join";
  return "wait";
}

interface Request {
  from: bigint;
  to: bigint;
  resolve(result: ReadResult): void;
  reject(error: unknown): void;
}

interface Scan extends ScanView {
  end: bigint;
  requests: Request[];
  transactions: Transaction[];
}

export class RetainedReads {
  #o: RetainedReadsOptions;
  #kept: Covered | undefined;
  #keptTimer: ReturnType<typeof setTimeout> | undefined;
  #scan: Scan | undefined;
  #waiting: Request[] = [];
  #gathering: ReturnType<typeof setTimeout> | undefined;
  #closed = false;

  constructor(options: RetainedReadsOptions) {
    this.#o = options;
  }

  /** The `RetainedReader` to install with `TransactionLog.onRetainedRead`. */
  readonly read: RetainedReader = (from, to) => {
    if (to <= from) return Promise.resolve({ kind: "ok", transactions: [] });
    return new Promise((resolve, reject) => this.#route({ from, to, resolve, reject }));
  };

  /** Forgets what is kept; requests already made are still answered. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#keptTimer);
    this.#kept = undefined;
  }

  #route(request: Request): void {
    const plan = planRetainedRead(request, { kept: this.#kept, scan: this.#scan });
    if (plan === "behind_window") return request.resolve({ kind: "behind_window" });
    if (plan === "kept") return request.resolve(slice(this.#kept!, request));
    if (plan === "join") {
      const scan = this.#scan!;
      if (request.to > scan.end) scan.end = request.to;
      scan.requests.push(request);
      return;
    }
    this.#waiting.push(request);
    if (!this.#scan && this.#gathering === undefined) {
      this.#gathering = setTimeout(() => {
        this.#gathering = undefined;
        this.#startScan();
      }, this.#o.gatherMs ?? 20);
    }
  }

  #startScan(): void {
    const requests = this.#waiting.splice(0);
    if (requests.length === 0) return;
    const scan: Scan = {
      floor: requests.reduce((min, r) => (r.from < min ? r.from : min), requests[0].from),
      end: requests.reduce((max, r) => (r.to > max ? r.to : max), requests[0].to),
      windowStart: undefined,
      requests,
      transactions: [],
    };
    this.#scan = scan;
    this.#o.onScan?.({ floor: scan.floor, end: scan.end });
    (this.#o.scan ?? scanRetained)(this.#o, {
      start: (windowStart) => {
        scan.windowStart = windowStart;
        // Requests behind the window are answered now; the others are read for.
        scan.requests = scan.requests.filter((r) => {
          if (r.from >= windowStart) return true;
          r.resolve({ kind: "behind_window" });
          return false;
        });
        if (scan.requests.length === 0) return undefined;
        scan.floor = scan.requests.reduce((min, r) => (r.from < min ? r.from : min), scan.end);
        return scan.floor;
      },
      transaction: (tx) => {
        if (tx.lsn > scan.floor) scan.transactions.push(tx);
      },
      end: () => scan.end,
    }).then(
      (result) => {
        this.#scan = undefined;
        if (result.kind === "behind_window") {
          for (const r of scan.requests) r.resolve({ kind: "behind_window" });
        } else {
          const covered: Covered = {
            floor: scan.floor,
            end: result.readThrough,
            windowStart: result.windowStart,
            transactions: scan.transactions,
          };
          for (const r of scan.requests) {
            // One that joined as the scan was finishing may reach past it: next scan.
            if (r.to <= covered.end) r.resolve(slice(covered, r));
            else this.#waiting.push(r);
          }
          this.#keep(covered);
        }
        this.#next();
      },
      (error) => {
        this.#scan = undefined;
        for (const r of scan.requests) r.reject(error);
        this.#next();
      },
    );
  }

  /** Serves the waiting requests the last scan covered, then scans for the rest. */
  #next(): void {
    for (const request of this.#waiting.splice(0)) this.#route(request);
    if (!this.#scan && this.#gathering === undefined) this.#startScan();
  }

  #keep(covered: Covered): void {
    if (this.#closed) return;
    this.#kept = trimToBudget(covered, this.#o.maxBytes);
    clearTimeout(this.#keptTimer);
    this.#keptTimer = setTimeout(() => this.#kept = undefined, this.#o.keepMs ?? 60_000);
  }
}

/** The newest transactions of `covered` within `maxBytes`; the floor moves up accordingly. */
export function trimToBudget(covered: Covered, maxBytes: number): Covered {
  const txs = covered.transactions;
  let bytes = 0;
  let first = txs.length;
  while (first > 0 && bytes + txs[first - 1].byteSize <= maxBytes) {
    bytes += txs[--first].byteSize;
  }
  if (first === 0) return covered;
  return { ...covered, floor: txs[first - 1].lsn, transactions: txs.slice(first) };
}

/** The transactions of `covered` with `from < lsn <= to`. */
function slice(covered: Covered, range: { from: bigint; to: bigint }): ReadResult {
  const txs = covered.transactions;
  return {
    kind: "ok",
    transactions: txs.slice(firstAfter(txs, range.from), firstAfter(txs, range.to)),
  };
}

/** Index of the first transaction with LSN > `lsn` (binary search). */
function firstAfter(txs: Transaction[], lsn: bigint): number {
  let low = 0;
  let high = txs.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (txs[mid].lsn <= lsn) low = mid + 1;
    else high = mid;
  }
  return low;
}
