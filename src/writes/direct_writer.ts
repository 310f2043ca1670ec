/**
 * `direct_writes` mode (postgres-side.md §8.6): client transactions from every connection go
 * into one queue and are applied in arrival order, each in its own Postgres transaction on
 * one connection of the service's pool, together with the client's LSN. Postgres is thus the record of which
 * client writes are applied; anything lost here is resent by the client when it reconnects.
 *
 * A transaction Postgres refuses (a constraint, say) is reported back to its connection and
 * dropped; a lost connection is retried, keeping the order.
 */
import { delay, type Service } from "../lifecycle/mod.ts";
import { backoffDelayMs, classifyPgError, type Sql } from "../storage/mod.ts";
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

type Reserved = Awaited<ReturnType<Sql["reserve"]>>;

/** The writer's connection, kept between drains, and the statements prepared on it. */
interface Session {
  connection: Reserved;
  prepared: PreparedStatements;
}

export class DirectWriter implements Service, ClientWriter {
  readonly name = "direct writer";
  #pool: () => Sql | undefined;
  #logger: Logger;
  #queue: Pending[] = [];
  #wake: (() => void) | undefined;
  #session: Session | undefined;

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

  /** The connection to write on, reserved once and kept while it works. */
  async #ensureSession(): Promise<Session | "retry"> {
    if (this.#session) return this.#session;
    const sql = this.#pool();
    if (!sql) return "retry";
    try {
      this.#session = { connection: await sql.reserve(), prepared: new PreparedStatements() };
      return this.#session;
    } catch (error) {
      return this.#transient(error);
    }
  }

  #endSession(): void {
    this.#session?.connection.release();
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
    const session = await this.#ensureSession();
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
      // The batches behind it applied nothing; let them finish before cleaning up.
      await Promise.all(flights.map((flight) => flight.result));
      return await this.#afterFailure(session, head.size, error);
    }
  }

  /**
   * After a batch of `size` failed: the transactions before the failed one are committed (the
   * stored client LSNs tell which) and are settled. A refused transaction is then identified
   * by applying it alone and settled too; any other failure is retried.
   */
  async #afterFailure(failed: Session, size: number, error: unknown): Promise<void | "retry"> {
    // Which PREPAREs of the failed message ran is unknown: start afresh.
    failed.prepared.forget();
    const refused = isRefusal(error);
    if (!refused) this.#transient(error);
    let session = failed;
    if (connectionLost(error)) {
      // A connection that failed is never used again (a query on it may wait forever); what
      // committed before it went is read on another one.
      this.#endSession();
      const fresh = await this.#ensureSession();
      if (fresh === "retry") return "retry";
      session = fresh;
    }
    try {
      if (session === failed) await session.connection.unsafe("ROLLBACK");
      let applied = 0;
      while (
        applied < size && await this.#isApplied(session.connection, this.#queue[applied].tx)
      ) {
        applied++;
      }
      this.#settle(Array.from({ length: applied }, () => ({ ok: true })));
      if (!refused || applied === size) return refused ? undefined : "retry";
      // The first transaction not applied is the one Postgres refused (or came after it).
      const alone = await this.#applyOne(session, this.#queue[0].tx);
      if (alone === "retry") return "retry";
      this.#settle([alone]);
    } catch (inner) {
      this.#endSession();
      return this.#transient(inner);
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
  async #isApplied(connection: Reserved, tx: ClientTransaction): Promise<boolean> {
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

/**
 * Errors after which the connection is gone: no SQLSTATE (a socket error), a connection
 * exception (08) or an operator intervention such as a terminated backend (57P).
 */
function connectionLost(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  if (typeof code !== "string" || !/^[0-9A-Z]{5}$/.test(code)) return true;
  return code.startsWith("08") || code.startsWith("57P");
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
