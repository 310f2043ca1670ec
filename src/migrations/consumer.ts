/**
 * Advances the schema catalog from the replication stream: every transaction that inserted
 * into `electric.ddl_commands` is a migration. Its statements are grouped by transaction,
 * given the transaction's version, applied to the model, saved to `electric.schema` and added
 * to the catalog. Versions already known are skipped, which makes re-reading old WAL after a
 * restart harmless.
 */
import type { Logger } from "../telemetry/mod.ts";
import type { Sql } from "../storage/mod.ts";
import { buildEntry } from "./build_entry.ts";
import type { SchemaCatalog } from "./catalog.ts";
import { loadTableOids, lookupVersion, saveEntry } from "./store.ts";

/** The part of a replicated transaction the consumer reads. */
export interface TransactionLike {
  changes: ReadonlyArray<{
    kind: string;
    relation?: { schema: string; table: string };
    record?: Readonly<Record<string, string | null>>;
  }>;
}

interface CapturedStatement {
  id: number;
  txid: string;
  txts: string;
  query: string;
}

// Every connected client's outbound stream asks for the statements of the same transaction;
// they depend on nothing but the (immutable) transaction, so they are worked out once per it.
const capturedByTransaction = new WeakMap<TransactionLike, CapturedStatement[][]>();

/**
 * The captured statements of a transaction, grouped by migrating transaction (computed once
 * per transaction object; callers must not modify the result).
 */
export function capturedStatements(tx: TransactionLike): CapturedStatement[][] {
  const known = capturedByTransaction.get(tx);
  if (known) return known;
  const groups = new Map<string, CapturedStatement[]>();
  for (const change of tx.changes) {
    if (change.kind !== "insert" || !change.record) continue;
    if (change.relation?.schema !== "electric" || change.relation.table !== "ddl_commands") {
      continue;
    }
    const { id, txid, txts, query } = change.record;
    if (id == null || txid == null || txts == null || query == null) continue;
    const key = `${txid}:${txts}`;
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key)!.push({ id: Number(id), txid, txts, query });
  }
  const result = [...groups.values()].map((group) => group.sort((a, b) => a.id - b.id));
  capturedByTransaction.set(tx, result);
  return result;
}

/** How long a version written by a transaction the stream has committed may stay invisible. */
const VERSION_VISIBLE_MS = 10_000;

/**
 * The migration version of a transaction the stream delivered. The stream can hand over a
 * commit before the committing session has made it visible to other sessions (Postgres
 * flushes the commit record first), and under load that window is long enough for the lookup
 * to miss the version written in that very transaction. A committed transaction's row does
 * become visible, so the lookup is repeated, briefly, before the DDL is given up on.
 */
async function versionOnceVisible(
  sql: Sql,
  txid: string,
  txts: string,
): Promise<string | undefined> {
  const deadline = Date.now() + VERSION_VISIBLE_MS;
  for (let wait = 5;; wait = Math.min(wait * 2, 250)) {
    const version = await lookupVersion(sql, txid, txts);
    if (version !== undefined || Date.now() >= deadline) return version;
    await new Promise((resolve) => setTimeout(resolve, wait));
  }
}

export class MigrationConsumer {
  #sql: () => Sql | undefined;
  #catalog: SchemaCatalog;
  #logger: Logger;

  constructor(options: { sql: () => Sql | undefined; catalog: SchemaCatalog; logger: Logger }) {
    this.#sql = options.sql;
    this.#catalog = options.catalog;
    this.#logger = options.logger;
  }

  /** Applies the migrations a transaction carries; throws on database failures (retried upstream). */
  async handle(tx: TransactionLike): Promise<void> {
    const groups = capturedStatements(tx);
    if (groups.length === 0) return;
    const sql = this.#sql();
    if (!sql) throw new Error("Postgres is not connected");
    for (const group of groups) {
      const { txid, txts } = group[0];
      const version = await versionOnceVisible(sql, txid, txts);
      if (version === undefined) {
        this.#logger.warning(
          `Captured DDL of transaction ${txid} has no migration version; ignored.`,
        );
        continue;
      }
      if (this.#catalog.has(version)) continue;
      this.#logger.info(`Applying migration ${version}`);
      const built = await buildEntry(
        this.#catalog.current(),
        { version, txid: BigInt(txid), statements: group.map((s) => s.query) },
        await loadTableOids(sql),
      );
      if (!built.ok) {
        this.#logger.error(
          `Migration ${version} could not be applied to the schema model: ${built.error.message}`,
        );
        continue;
      }
      await saveEntry(sql, built.entry);
      this.#catalog.add(built.entry);
      this.#logger.info(`Saved schema version ${version}`);
    }
  }
}
