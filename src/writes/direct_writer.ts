/**
 * `direct_writes` mode (postgres-side.md §8.6): client transactions from every connection go
 * into one queue and are applied in arrival order, each in its own Postgres transaction on
 * one connection of the writer's own, together with the client's LSN. Postgres is thus the
 * record of which client writes are applied; anything lost here is resent by the client when it
 * reconnects.
 *
 * A transaction Postgres refuses (a constraint, say) is reported back to its connection and
 * dropped; a lost connection is retried, keeping the order.
 */
import { delay, type Service } from "../lifecycle/mod.ts";
import {
  backoffDelayMs,
  classifyPgError,
  connectionLost,
  dedicatedConnection,
  type Sql,
} from "../storage/mod.ts";
import type { Logger } from "../telemetry/mod.ts";
import type { ClientTransaction } from "./client_transaction.ts";
import { PreparedStatements } from "./prepared_statements.ts";
import { clientTransactionStatements } from "./statements.ts";

export type WriteOutcome =
  | { ok: true }
  | {
    ok: false;
    error: { code: "REJECTED_BY_POSTGRES" | "INVALID_TAG"; message: string; sqlstate?: string };
  };

export interface ClientWriter {
  /** Queues a transaction; resolves once it is committed, or refused for good. */
  write(tx: ClientTransaction): Promise<WriteOutcome>;
}

interface Pending {
  tx: ClientTransaction;
  resolve: (outcome: WriteOutcome) => void;
}

/** Client transactions sent together in one simple-query message when they queue up. */
const MAX_BATCH = 64;
/** Batches on the wire at once: the next is sent while Postgres works on the current one. */
const PIPELINE_DEPTH = 2;

interface Flight {
  size: number;
  result: Promise<unknown>;
}

/**
 * The writer's connection, kept between drains while it stays open and the connector keeps the
 * pool it was derived from, and the statements prepared on it.
 */
interface Session {
  pool: Sql;
  connection: Sql;
  prepared: PreparedStatements;
  closed: boolean;
}

export class DirectWriter implements Service, ClientWriter {
  readonly name = "direct writer";
  #pool: () => Sql | undefined;
  #logger: Logger;
  #queue: Pending[] = [];
  #wake: (() => void) | undefined;
  #session: Session | undefined;
  /**
   * How many transactions at the head of the queue were sent before a failure and may have
   * committed: none of them is sent again before Postgres said which it holds.
   */
  #unsure = 0;

  constructor(options: { pool: () => Sql | undefined; logger: Logger }) {
    this.#pool = options.pool;
    this.#logger = options.logger;
  }

  write(tx: ClientTransaction): Promise<WriteOutcome> {
    return new Promise((resolve) => {
      this.#queue.push({ tx, resolve });
      this.#wake?.();
    });
  }

  get pending(): number {
    return this.#queue.length;
  }

  async run(signal: AbortSignal): Promise<void> {
    const stop = () => this.#wake?.();
    signal.addEventListener("abort", stop, { once: true });
    let attempt = 0;
    while (!signal.aborted) {
      if (this.#queue.length === 0) {
        await new Promise<void>((resolve) => this.#wake = resolve);
        this.#wake = undefined;
        continue;
      }
      if (await this.#drain() === "retry") {
        await delay(backoffDelayMs(attempt++), signal);
        continue;
      }
      attempt = 0;
    }
    signal.removeEventListener("abort", stop);
    this.#endSession();
  }

  /**
   * The connection to write on, opened once and kept while it works. One that closed, even while
   * idle (Postgres restarted, the backend was ended), is replaced before it is used again.
   */
  #ensureSession(): Session | "retry" {
    const pool = this.#pool();
    const current = this.#session;
    if (current && !current.closed && current.pool === pool) return current;
    this.#endSession();
    if (!pool) return "retry";
    const session: Session = {
      pool,
      connection: undefined as unknown as Sql,
      prepared: new PreparedStatements(),
      closed: false,
    };
    session.connection = dedicatedConnection(pool, { onClose: () => session.closed = true });
    this.#session = session;
    return session;
  }

  #endSession(): void {
    this.#session?.connection.end({ timeout: 0 }).catch(() => {});
    this.#session = undefined;
  }

  /** Settles the first `outcomes.length` queued transactions. */
  #settle(outcomes: WriteOutcome[]): void {
    const settled = this.#queue.splice(0, outcomes.length);
    settled.forEach((pending, i) => pending.resolve(outcomes[i]));
  }

  /**
   * Applies the queue on one connection until it is empty, a transaction is refused, or
   * Postgres fails. Each client transaction is its own Postgres transaction (that is how its
   * echo keeps its origin and timestamp), sent back to back in one simple-query message per
   * batch, and the next batch goes out before the current one's result is in. That is safe
   * because a batch can only fail inside a transaction block (deferred constraints are checked
   * before COMMIT): the session then refuses every later command until ROLLBACK, so a batch
   * sent behind a failed one applies nothing and is sent again.
   */
  async #drain(): Promise<void | "retry"> {
    if (await this.#settleCommitted() === "retry") return "retry";
    const session = this.#ensureSession();
    if (session === "retry") return "retry";
    const { connection, prepared } = session;
    const flights: Flight[] = [];
    let sent = 0;
    while (true) {
      while (flights.length < PIPELINE_DEPTH && sent < this.#queue.length) {
        const batch = batchText(
          this.#queue.slice(sent, sent + MAX_BATCH).map((p) => p.tx),
          prepared,
        );
        if ("ok" in batch) {
          // A transaction that cannot be built is refused in its turn.
          if (sent > 0) break;
          this.#settle([batch]);
          continue;
        }
        flights.push({ size: batch.size, result: settleOf(connection.unsafe(batch.text)) });
        sent += batch.size;
      }
      const head = flights.shift();
      if (!head) return;
      const error = await head.result;
      if (error === undefined) {
        this.#settle(Array.from({ length: head.size }, () => ({ ok: true })));
        sent -= head.size;
        continue;
      }
      // Let the batches behind it finish before cleaning up. If the connection was lost, any
      // of the `sent` transactions may have committed (the lost reply included), else the
      // batches behind the failed one applied nothing.
      await Promise.all(flights.map((flight) => flight.result));
      return await this.#afterFailure(session, sent, error);
    }
  }

  /**
   * After a failure with `sent` transactions in flight: the ones Postgres committed (the stored
   * client LSNs tell which) are settled. A refused transaction is then identified by applying
   * it alone and settled too; any other failure is retried.
   */
  async #afterFailure(failed: Session, sent: number, error: unknown): Promise<void | "retry"> {
    // Which PREPAREs of the failed message ran is unknown: start afresh.
    failed.prepared.forget();
    const refused = isRefusal(error);
    if (!refused) this.#transient(error);
    this.#unsure = Math.max(this.#unsure, sent);
    if (connectionLost(error)) {
      // A connection that failed is never used again; what committed before it went is read
      // on another one.
      this.#endSession();
    } else {
      try {
        await failed.connection.unsafe("ROLLBACK");
      } catch (inner) {
        this.#endSession();
        return this.#transient(inner);
      }
    }
    const settled = await this.#settleCommitted();
    if (settled === "retry" || !refused) return "retry";
    if (settled === sent) return;
    // The first transaction not applied is the one Postgres refused (or came after it).
    const session = this.#ensureSession();
    if (session === "retry") return "retry";
    const alone = await this.#applyOne(session, this.#queue[0].tx);
    if (alone === "retry") return "retry";
    this.#settle([alone]);
  }

  /**
   * Settles the unsure transactions Postgres holds and forgets that the rest were sent; how
   * many it settled. Postgres commits them in queue order, so the first one it does not hold
   * is where its transactions end.
   */
  async #settleCommitted(): Promise<number | "retry"> {
    if (this.#unsure === 0) return 0;
    const session = this.#ensureSession();
    if (session === "retry") return "retry";
    try {
      let applied = 0;
      while (
        applied < this.#unsure &&
        await this.#isApplied(session.connection, this.#queue[applied].tx)
      ) {
        applied++;
      }
      this.#settle(Array.from({ length: applied }, () => ({ ok: true })));
      this.#unsure = 0;
      return applied;
    } catch (error) {
      if (connectionLost(error)) this.#endSession();
      return this.#transient(error);
    }
  }

  async #applyOne(session: Session, tx: ClientTransaction): Promise<WriteOutcome | "retry"> {
    const { connection, prepared } = session;
    const batch = batchText([tx], prepared);
    if ("ok" in batch) return batch;
    try {
      await connection.unsafe(batch.text);
      return { ok: true };
    } catch (error) {
      prepared.forget();
      if (connectionLost(error)) {
        // It may have committed before the reply was lost.
        this.#unsure = 1;
        this.#endSession();
        return this.#transient(error);
      }
      await connection.unsafe("ROLLBACK").catch(() => {});
      if (!isRefusal(error)) return this.#transient(error);
      const message = (error as Error).message;
      const sqlstate = (error as { code?: string }).code;
      this.#logger.warning(`Postgres refused a transaction of client ${tx.clientId}: ${message}`);
      return { ok: false, error: { code: "REJECTED_BY_POSTGRES", message, sqlstate } };
    }
  }

  /** Whether Postgres holds this transaction: the client's stored LSN is at or past it. */
  async #isApplied(connection: Sql, tx: ClientTransaction): Promise<boolean> {
    const [row] =
      await connection`SELECT lsn FROM electric.acknowledged_client_lsns WHERE client_id = ${tx.clientId}`;
    return row ? compareLsn(new Uint8Array(row.lsn), tx.lsn) >= 0 : false;
  }

  #transient(error: unknown): "retry" {
    const failure = classifyPgError(error);
    this.#logger.warning(
      `Could not apply client transactions (${failure.code}): ${failure.message}; retrying`,
    );
    return "retry";
  }
}

/**
 * One simple-query message for a batch: one transaction block per client transaction, up to
 * the first that cannot be built; that one's outcome when it is the first. A block starts with
 * the PREPAREs its statements need, so that whatever fails, fails inside a transaction block
 * (which #drain relies on). READ COMMITTED is what the merge statements assume, whatever the
 * database's default.
 */
function batchText(
  txs: ClientTransaction[],
  prepared: PreparedStatements,
): { text: string; size: number } | WriteOutcome & { ok: false } {
  const blocks: string[] = [];
  for (const tx of txs) {
    const built = clientTransactionStatements(tx, { parameterize: true });
    if (!built.ok) {
      if (blocks.length > 0) break;
      return built;
    }
    const statements: string[] = [];
    const body = built.statements.map((statement) => prepared.render(statement, statements));
    statements.push(...body);
    blocks.push(
      `BEGIN ISOLATION LEVEL READ COMMITTED;\n${
        statements.join(";\n")
      };\nSET CONSTRAINTS ALL IMMEDIATE;\nCOMMIT;`,
    );
  }
  return { text: blocks.join("\n"), size: blocks.length };
}

/** Resolves with the error a query failed with, or undefined; never rejects. */
function settleOf(query: PromiseLike<unknown>): Promise<unknown> {
  return Promise.resolve(query).then(() => undefined, (error) => error ?? new Error("failed"));
}

/** Errors that are about the data (Postgres would refuse the same transaction again). */
function isRefusal(error: unknown): boolean {
  const sqlstate = (error as { code?: string }).code;
  return sqlstate !== undefined && /^(?:2[2-3]|42|P0|EX)/.test(sqlstate);
}

/** Client LSNs are big-endian integers of any length. */
export function compareLsn(a: Uint8Array, b: Uint8Array): number {
  const strip = (x: Uint8Array) => {
    const first = x.findIndex((v) => v !== 0);
    return first === -1 ? x.subarray(x.length) : x.subarray(first);
  };
  const [x, y] = [strip(a), strip(b)];
  if (x.length !== y.length) return x.length - y.length;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return x[i] - y[i];
  return 0;
}
