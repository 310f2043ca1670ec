/**
 * The writers of the sync scenarios and the book that turns their commits and the clients'
 * receipts into latencies.
 *
 * Latency samples are single-row autocommit statements, alternately an INSERT of a new row and
 * an UPDATE of an existing one, each setting `n` to a marker (`MARKER_BASE + sample`) that the
 * light clients read back from the row they receive. Commit time = when the statement's
 * result is back in this process; receipt = when the client's frame is handled. Both are
 * `performance.now()` of this process: no clock crosses a process boundary. A frame may be
 * handled before the writer sees its own commit return (same event loop); such samples count
 * as 0 ms.
 */
import type postgres from "postgres";

export const MARKER_BASE = 1_000_000_000;

/** Commit and receipt times of `samples` writes seen by `clients` clients. */
export class LatencyBook {
  readonly commitAt: Float64Array;
  readonly #recv: Float64Array;
  #received = 0;
  #expected: number;

  constructor(readonly samples: number, readonly clients: number, readonly warmup: number) {
    this.commitAt = new Float64Array(samples).fill(NaN);
    this.#recv = new Float64Array(samples * clients).fill(NaN);
    this.#expected = (samples - warmup) * clients;
  }

  /** A client handled a transaction carrying `marker`. */
  received(client: number, marker: number): void {
    const sample = marker - MARKER_BASE;
    if (sample < 0 || sample >= this.samples) return;
    const at = sample * this.clients + client;
    if (this.#recv[at] === this.#recv[at]) return; // already seen (NaN !== NaN)
    this.#recv[at] = performance.now();
    if (sample >= this.warmup) this.#received++;
  }

  /** Every measured sample reached every client. */
  get complete(): boolean {
    return this.#received >= this.#expected;
  }

  /** Latencies in ms of the measured samples, and how many never arrived. */
  latencies(): { values: number[]; lost: number } {
    const values: number[] = [];
    let lost = 0;
    for (let s = this.warmup; s < this.samples; s++) {
      const commit = this.commitAt[s];
      for (let c = 0; c < this.clients; c++) {
        const recv = this.#recv[s * this.clients + c];
        if (recv !== recv || commit !== commit) lost++;
        else values.push(Math.max(0, recv - commit));
      }
    }
    return { values, lost };
  }
}

export interface PaceOptions {
  /** Statements per second. */
  rate: number;
  /** `value` of inserted rows (so they fall into the clients' shape). */
  insertValue: string;
  /** Rows updated in turn (ids inside the clients' shape). */
  updateIds: string[];
}

/** Writes `book.samples` paced single-row transactions, recording commit times in `book`. */
export async function paceWrites(
  sql: postgres.Sql,
  book: LatencyBook,
  options: PaceOptions,
): Promise<void> {
  const interval = 1000 / options.rate;
  const start = performance.now();
  for (let s = 0; s < book.samples; s++) {
    const due = start + s * interval;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    const marker = MARKER_BASE + s;
    if (s % 2 === 0 || options.updateIds.length === 0) {
      await sql`INSERT INTO items (id, value, n, ts)
                VALUES (gen_random_uuid(), ${options.insertValue}, ${marker}, now())`;
    } else {
      const id = options.updateIds[(s >> 1) % options.updateIds.length];
      await sql`UPDATE items SET n = ${marker}, ts = now() WHERE id = ${id}`;
    }
    book.commitAt[s] = performance.now();
  }
}

/** Inserts `rows` rows in `perTx`-row transactions over four pipelined connections. */
export async function insertInTransactions(
  sql: postgres.Sql,
  rows: number,
  perTx: number,
): Promise<void> {
  const transactions = Math.ceil(rows / perTx);
  let next = 0;
  const worker = async () => {
    while (next < transactions) {
      const from = 1 + next++ * perTx;
      const to = Math.min(rows, from + perTx - 1);
      await sql`INSERT INTO items (id, value, n, ts)
                SELECT gen_random_uuid(), 'value-' || i, i, now()
                  FROM generate_series(${from}::int, ${to}::int) AS i`;
    }
  };
  await Promise.all(Array.from({ length: 4 }, worker));
}

/** Up to `limit` ids of rows whose value is `value` (or any row when undefined). */
export async function someIds(sql: postgres.Sql, limit: number, value?: string): Promise<string[]> {
  const rows = value === undefined
    ? await sql<{ id: string }[]>`SELECT id::text FROM items ORDER BY n LIMIT ${limit}`
    : await sql<{ id: string }[]>`
        SELECT id::text FROM items WHERE value = ${value} ORDER BY n LIMIT ${limit}`;
  return rows.map((r) => r.id);
}

/** Percentile (nearest rank) of ascending `sorted`, with `lost` samples counted as infinite. */
export function percentile(sorted: readonly number[], lost: number, p: number): number {
  const total = sorted.length + lost;
  if (total === 0) return NaN;
  const rank = Math.max(1, Math.ceil((p / 100) * total));
  return rank <= sorted.length ? sorted[rank - 1] : Infinity;
}

export function median(values: readonly number[]): number {
  const sorted = values.filter((v) => !Number.isNaN(v)).toSorted((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}
