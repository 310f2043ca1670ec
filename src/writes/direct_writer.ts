/**
 * `direct_writes` mode (postgres-side.md §8.6): client transactions from every connection go
 * into one queue and are applied in arrival order, each in its own Postgres transaction on
 * the service's pool, together with the client's LSN. Postgres is thus the record of which
 * client writes are applied; anything lost here is resent by the client when it reconnects.
 *
 * A transaction Postgres refuses (a constraint, say) is reported back to its connection and
 * dropped; a lost connection is retried, keeping the order.
 */
import { delay, type Service } from "../lifecycle/mod.ts";
import { backoffDelayMs, classifyPgError, type Sql } from "../storage/mod.ts";
import type { Logger } from "../telemetry/mod.ts";
import type { ClientTransaction } from "./client_transaction.ts";
import { clientTransactionSql } from "./statements.ts";

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

/** Client transactions applied together in one Postgres transaction when they queue up. */
const MAX_BATCH = 64;

export class DirectWriter implements Service, ClientWriter {
  readonly name = "direct writer";
  #pool: () => Sql | undefined;
  #logger: Logger;
  #queue: Pending[] = [];
  #wake: (() => void) | undefined;

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
      const batch = this.#queue.slice(0, MAX_BATCH);
      const settled = await this.#applyBatch(batch.map((p) => p.tx));
      if (settled === "retry") {
        await delay(backoffDelayMs(attempt++), signal);
        continue;
      }
      attempt = 0;
      this.#queue.splice(0, settled.length);
      settled.forEach((outcome, i) => batch[i].resolve(outcome));
    }
    signal.removeEventListener("abort", stop);
  }

  /**
   * Applies queued transactions, each in its own Postgres transaction (one client
   * transaction must be one Postgres transaction: that is how its echo keeps its origin and
   * timestamp), but sent back to back in one simple-query message to save round trips. When
   * Postgres refuses one of them, the ones before it are committed: the stored client LSNs
   * tell which, and the refused one is identified by applying it alone.
   * Returns the outcomes of the first `n` transactions (those settled), or "retry".
   */
  async #applyBatch(txs: ClientTransaction[]): Promise<WriteOutcome[] | "retry"> {
    const blocks: string[] = [];
    for (const [i, tx] of txs.entries()) {
      const built = clientTransactionSql(tx);
      if (!built.ok) {
        if (i === 0) return [built];
        break;
      }
      blocks.push(`BEGIN;\n${built.sql}\nCOMMIT;`);
    }
    const sql = this.#pool();
    if (!sql) return "retry";
    let connection: Awaited<ReturnType<Sql["reserve"]>> | undefined;
    try {
      connection = await sql.reserve();
      await connection.unsafe(blocks.join("\n"));
      return blocks.map(() => ({ ok: true }));
    } catch (error) {
      if (!isRefusal(error)) return this.#transient(error);
      try {
        await connection?.unsafe("ROLLBACK");
        const settled: WriteOutcome[] = [];
        for (const tx of txs.slice(0, blocks.length)) {
          if (await this.#isApplied(connection!, tx)) {
            settled.push({ ok: true });
            continue;
          }
          // The first transaction not applied is the one Postgres refused (or came after it).
          const alone = await this.#applyOne(connection!, tx);
          if (alone === "retry") return settled.length > 0 ? settled : "retry";
          settled.push(alone);
          break;
        }
        return settled;
      } catch (inner) {
        return this.#transient(inner);
      }
    } finally {
      connection?.release();
    }
  }

  async #applyOne(connection: Sql, tx: ClientTransaction): Promise<WriteOutcome | "retry"> {
    const built = clientTransactionSql(tx);
    if (!built.ok) return built;
    try {
      await connection.unsafe(`BEGIN;\n${built.sql}\nCOMMIT;`);
      return { ok: true };
    } catch (error) {
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
