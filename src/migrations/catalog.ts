/**
 * The in-memory history of the electrified schema: one entry per migration version, in
 * transaction order, each with the statements captured for it, the schema model after it and
 * the operations clients receive for it in both dialects. Pure data; loading, saving and
 * advancing it from the replication stream live in `store.ts` and `consumer.ts`.
 */
import type { SatOpMigrateData, SchemaModel } from "../schema/mod.ts";
import { EMPTY_SCHEMA } from "../schema/mod.ts";

export type Dialect = "sqlite" | "postgresql";

export interface MigrationEntry {
  version: string;
  /** 64-bit transaction id of the migration; orders the history. */
  txid: bigint;
  /** The captured statements of this version, in capture order. */
  statements: string[];
  /** The schema model after this version. */
  model: SchemaModel;
  /** One operation per captured statement that propagates to clients, per dialect. */
  ops: Readonly<Record<Dialect, SatOpMigrateData[]>>;
}

export class SchemaCatalog {
  #entries: MigrationEntry[] = [];
  #byVersion = new Map<string, MigrationEntry>();
  #listeners = new Set<(entry: MigrationEntry) => void>();
  #processedLsn: bigint | undefined;

  constructor(entries: readonly MigrationEntry[] = []) {
    for (const entry of entries) this.#insert(entry);
  }

  /** The model at the newest version (the empty model before any migration). */
  current(): SchemaModel {
    return this.#entries.at(-1)?.model ?? EMPTY_SCHEMA;
  }

  currentVersion(): string | undefined {
    return this.#entries.at(-1)?.version;
  }

  has(version: string): boolean {
    return this.#byVersion.has(version);
  }

  get(version: string): MigrationEntry | undefined {
    return this.#byVersion.get(version);
  }

  all(): readonly MigrationEntry[] {
    return this.#entries;
  }

  /**
   * The stream position up to which every transaction has been looked at for migrations: a
   * fresh client may start streaming from here and miss none (the consumer runs behind the
   * log, so the log's own end may hold migrations the catalog does not have yet).
   */
  processedLsn(): bigint | undefined {
    return this.#processedLsn;
  }

  markProcessed(lsn: bigint): void {
    if (this.#processedLsn === undefined || lsn > this.#processedLsn) this.#processedLsn = lsn;
  }

  byTxid(txid: bigint): MigrationEntry | undefined {
    return this.#entries.find((entry) => entry.txid === txid);
  }

  /**
   * The entry of the migrating transaction `txid`, waiting up to `timeoutMs` for the consumer
   * to apply it (it reads the same stream, so it may be a moment behind a reader).
   */
  whenTxid(txid: bigint, timeoutMs: number): Promise<MigrationEntry | undefined> {
    const known = this.byTxid(txid);
    if (known) return Promise.resolve(known);
    return new Promise((resolve) => {
      const stop = this.onMigration((entry) => {
        if (entry.txid !== txid) return;
        finish(entry);
      });
      const timer = setTimeout(() => finish(undefined), timeoutMs);
      function finish(entry: MigrationEntry | undefined) {
        clearTimeout(timer);
        stop();
        resolve(entry);
      }
    });
  }

  /** The model as of the newest entry whose transaction precedes `txid`. */
  modelBefore(txid: bigint): SchemaModel {
    let model = EMPTY_SCHEMA;
    for (const entry of this.#entries) {
      if (entry.txid >= txid) break;
      model = entry.model;
    }
    return model;
  }

  /**
   * Entries whose transaction came strictly after the one of `version`; every entry when no
   * version is given; undefined when the version is unknown.
   */
  after(version?: string): MigrationEntry[] | undefined {
    if (version === undefined || version === "") return [...this.#entries];
    const from = this.#byVersion.get(version);
    if (!from) return undefined;
    return this.#entries.filter((entry) => entry.txid > from.txid);
  }

  add(entry: MigrationEntry): void {
    if (this.#byVersion.has(entry.version)) return;
    this.#insert(entry);
    for (const listener of this.#listeners) listener(entry);
  }

  /** Called for every version added after subscribing; returns an unsubscribe function. */
  onMigration(listener: (entry: MigrationEntry) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #insert(entry: MigrationEntry) {
    this.#byVersion.set(entry.version, entry);
    let at = this.#entries.length;
    while (at > 0 && this.#entries[at - 1].txid > entry.txid) at--;
    this.#entries.splice(at, 0, entry);
  }
}

/**
 * Where the catalog lives once loaded at the first connection; it is kept across reconnects
 * so that everyone holding it keeps seeing new migrations.
 */
export class CatalogHolder {
  #catalog: SchemaCatalog | undefined;
  #waiters = new Set<(catalog: SchemaCatalog) => void>();

  get(): SchemaCatalog | undefined {
    return this.#catalog;
  }

  set(catalog: SchemaCatalog): void {
    this.#catalog = catalog;
    for (const waiter of this.#waiters) waiter(catalog);
    this.#waiters.clear();
  }

  /** Calls `listener` with the catalog once it is loaded (at once when it is). */
  whenSet(listener: (catalog: SchemaCatalog) => void): void {
    if (this.#catalog) listener(this.#catalog);
    else this.#waiters.add(listener);
  }

  /** The catalog, waiting up to `timeoutMs` for it to be loaded. */
  wait(timeoutMs: number): Promise<SchemaCatalog | undefined> {
    if (this.#catalog) return Promise.resolve(this.#catalog);
    return new Promise((resolve) => {
      const done = (catalog: SchemaCatalog | undefined) => {
        clearTimeout(timer);
        this.#waiters.delete(done);
        resolve(catalog);
      };
      const timer = setTimeout(() => done(undefined), timeoutMs);
      this.#waiters.add(done);
    });
  }
}
