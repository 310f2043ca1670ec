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
      // Several queued transactions share one Postgres transaction (fewer round trips); if
      // Postgres refuses the batch, they are applied one by one to find the one at fault.
      const batch = this.#queue.slice(0, MAX_BATCH);
      let outcome = await this.#apply(batch.map((p) => p.tx));
      if (outcome !== "retry" && !outcome.ok && batch.length > 1) {
        outcome = await this.#apply([batch[0].tx]);
        if (outcome !== "retry") {
          attempt = 0;
          this.#queue.shift();
          batch[0].resolve(outcome);
        }
        if (outcome === "retry") await delay(backoffDelayMs(attempt++), signal);
        continue;
      }
      if (outcome === "retry") {
        await delay(backoffDelayMs(attempt++), signal);
        continue;
      }
      attempt = 0;
      this.#queue.splice(0, batch.length);
      for (const pending of batch) pending.resolve(outcome);
    }
    signal.removeEventListener("abort", stop);
  }

  async #apply(txs: ClientTransaction[]): Promise<WriteOutcome | "retry"> {
    const parts: string[] = [];
    for (const tx of txs) {
      const built = clientTransactionSql(tx);
      if (!built.ok) return built;
      parts.push(built.sql);
    }
    const sql = this.#pool();
    if (!sql) return "retry";
    try {
      await sql.begin((t) => t.unsafe(parts.join("\n")));
      return { ok: true };
    } catch (error) {
      const sqlstate = (error as { code?: string }).code;
      if (sqlstate && /^(?:2[2-3]|42|P0)/.test(sqlstate)) {
        const message = (error as Error).message;
        if (txs.length === 1) {
          this.#logger.warning(
            `Postgres refused a transaction of client ${txs[0].clientId}: ${message}`,
          );
        }
        return { ok: false, error: { code: "REJECTED_BY_POSTGRES", message, sqlstate } };
      }
      const failure = classifyPgError(error);
      this.#logger.warning(
        `Could not apply a client transaction (${failure.code}): ${failure.message}; retrying`,
      );
      return "retry";
    }
  }
}
