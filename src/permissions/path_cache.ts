/**
 * Chains of foreign keys resolved from Postgres, per scope row, shared by every user holding a
 * role in that scope row: for `comments USING issue_id/project_id` and project `p1`, the ids
 * of p1's issues (the first level) and, for longer chains, the keys of every table in between.
 *
 * An entry is dropped, and the users whose access used it are named, when a row of a table in
 * the middle of its chain changes in a way that may change it: the row (old or new version;
 * replicated rows are whole, REPLICA IDENTITY FULL) references the scope row or a key of the
 * level above it. Resolving stays off the per-row path: what a user gets is a key list, turned
 * into one where expression per access change.
 *
 * An entry is registered before its query runs, and the users with it: a change seen while the
 * query runs drops it (the result may predate the change) and names them, so they resolve
 * again. For levels below the top, which are unknown until the query returns, any change to
 * such a table drops the chain's pending entries. That holds only if a query made after a change
 * was observed sees it: the query first waits for what was observed to become visible
 * (`visible`: the shared tracker of src/sync/visibility.ts, through store.ts), since Postgres
 * streams a commit a moment before other sessions see it.
 */
import type { Row } from "../replication/mod.ts";
import type { SchemaModel } from "../schema/mod.ts";
import type { Sql } from "../storage/mod.ts";
import { chainKey, chainQuery, type Hop, keyText } from "./paths.ts";
import { sameTable, type TableName } from "./rules.ts";

interface Entry {
  chain: Chain;
  /** The scope row's key, as text. */
  key: string;
  users: Set<string>;
  /** Keys per intermediate level (index 1 = first parent); undefined while resolving. */
  levels?: Set<string>[];
  /** The first level's keys, as values (what the where expression matches). */
  first: string[][];
  ready: Promise<void>;
  dropped: boolean;
}

interface Chain {
  hops: Hop[];
  entries: Map<string, Entry>;
  /** Per level ≥ 2: key text → the entries whose level holds it. */
  index: Map<string, Set<Entry>>[];
  pending: Set<Entry>;
}

export class PathCache {
  readonly #chains = new Map<string, Chain>();
  readonly #byUser = new Map<string, Set<Entry>>();
  readonly #visible: (sql: Sql) => Promise<void>;
  #size = 0;

  /** `visible`: resolves once the changes observed so far are visible to a new query. */
  constructor(visible: (sql: Sql) => Promise<void> = () => Promise.resolve()) {
    this.#visible = visible;
  }

  /** Cached scope rows, over all chains. */
  get size(): number {
    return this.#size;
  }

  /** The user's access is being computed again: it no longer depends on what it used. */
  forget(userId: string): void {
    for (const entry of this.#byUser.get(userId) ?? []) entry.users.delete(userId);
    this.#byUser.delete(userId);
  }

  /**
   * The first-level keys leading to any of the scope rows `keys` (one query for the ones not
   * cached), remembering that `userId` depends on them.
   */
  async resolve(
    sql: Sql,
    model: SchemaModel,
    chain: { hops: Hop[]; keys: readonly string[][]; userId: string },
  ): Promise<string[][]> {
    const state = this.#chain(chain.hops);
    const entries: Entry[] = [];
    const missing: Entry[] = [];
    const missingKeys: string[][] = [];
    for (const key of chain.keys) {
      const text = keyText(key);
      let entry = state.entries.get(text);
      if (!entry) {
        entry = {
          chain: state,
          key: text,
          users: new Set(),
          first: [],
          ready: Promise.resolve(),
          dropped: false,
        };
        state.entries.set(text, entry);
        state.pending.add(entry);
        this.#size++;
        missing.push(entry);
        missingKeys.push(key);
      }
      entry.users.add(chain.userId);
      let used = this.#byUser.get(chain.userId);
      if (!used) this.#byUser.set(chain.userId, used = new Set());
      used.add(entry);
      entries.push(entry);
    }
    if (missing.length > 0) {
      const read = this.#read(sql, model, state, missing, missingKeys);
      for (const entry of missing) entry.ready = read;
      read.catch(() => missing.forEach((e) => this.#drop(e)));
    }
    await Promise.all(entries.map((e) => e.ready));
    const seen = new Set<string>();
    const first: string[][] = [];
    for (const entry of entries) {
      for (const key of entry.first) {
        const text = keyText(key);
        if (seen.has(text)) continue;
        seen.add(text);
        first.push(key);
      }
    }
    return first;
  }

  /** Users whose access may change with this row change of `table`. */
  changed(table: TableName, rows: readonly (Row | undefined)[]): Set<string> {
    const users = new Set<string>();
    for (const state of this.#chains.values()) {
      const n = state.hops.length;
      for (let i = 1; i < n; i++) {
        const hop = state.hops[i];
        if (!sameTable(hop.table, table)) continue;
        const hit = new Set<Entry>();
        for (const row of rows) {
          if (!row) continue;
          const up = hop.columns.map((c) => row[c]);
          if (up.some((v) => v === null || v === undefined)) continue;
          const text = keyText(up);
          if (i === n - 1) {
            const entry = state.entries.get(text);
            if (entry) hit.add(entry);
          } else {
            for (const entry of state.index[i + 1]?.get(text) ?? []) hit.add(entry);
            // Levels below the top are unknown until resolved.
            for (const entry of state.pending) hit.add(entry);
          }
        }
        for (const entry of hit) this.#drop(entry, users);
      }
    }
    return users;
  }

  /** Users whose access may change when `table` is emptied. */
  truncated(table: TableName): Set<string> {
    const users = new Set<string>();
    for (const state of this.#chains.values()) {
      if (!state.hops.slice(1).some((h) => sameTable(h.table, table))) continue;
      for (const entry of [...state.entries.values()]) this.#drop(entry, users);
    }
    return users;
  }

  /** Drops everything; returns every user that depended on it. */
  clear(): Set<string> {
    const users = new Set(this.#byUser.keys());
    this.#chains.clear();
    this.#byUser.clear();
    this.#size = 0;
    return users;
  }

  #chain(hops: Hop[]): Chain {
    const key = chainKey(hops);
    let state = this.#chains.get(key);
    if (!state) {
      state = { hops, entries: new Map(), index: [], pending: new Set() };
      this.#chains.set(key, state);
    }
    return state;
  }

  async #read(
    sql: Sql,
    model: SchemaModel,
    state: Chain,
    entries: Entry[],
    keys: string[][],
  ): Promise<void> {
    const text = chainQuery(model, state.hops);
    if (!text) throw new Error("A table of a USING path is not electrified");
    const params = state.hops[state.hops.length - 1].columns.map((_, j) => keys.map((k) => k[j]));
    // Registered already: a change observed from here on drops the entries; one observed
    // before must be in what the query reads.
    await this.#visible(sql);
    const rows = await sql.unsafe<Row[]>(text, params);
    const n = state.hops.length;
    const byKey = new Map(entries.map((e) => [e.key, e]));
    for (const entry of entries) entry.levels = Array.from({ length: n }, () => new Set());
    for (const row of rows) {
      const scope = state.hops[n - 1].columns.map((_, j) => row[`s${j}`]);
      const entry = byKey.get(keyText(scope));
      if (!entry) continue;
      for (let i = 1; i < n; i++) {
        const values = state.hops[i - 1].parentColumns.map((_, j) => row[`l${i}_${j}`]);
        if (values.some((v) => v === null || v === undefined)) continue;
        const text = keyText(values);
        if (entry.levels![i].has(text)) continue;
        entry.levels![i].add(text);
        if (i === 1) entry.first.push(values as string[]);
      }
    }
    for (const entry of entries) {
      state.pending.delete(entry);
      if (entry.dropped) continue;
      for (let i = 2; i < n; i++) {
        const index = state.index[i] ??= new Map();
        for (const text of entry.levels![i]) {
          let set = index.get(text);
          if (!set) index.set(text, set = new Set());
          set.add(entry);
        }
      }
    }
  }

  #drop(entry: Entry, users?: Set<string>): void {
    if (entry.dropped) return;
    entry.dropped = true;
    const state = entry.chain;
    if (state.entries.get(entry.key) === entry) {
      state.entries.delete(entry.key);
      this.#size--;
    }
    state.pending.delete(entry);
    entry.levels?.forEach((level, i) => {
      if (i < 2) return;
      for (const text of level) {
        const set = state.index[i]?.get(text);
        set?.delete(entry);
        if (set?.size === 0) state.index[i].delete(text);
      }
    });
    for (const user of entry.users) {
      users?.add(user);
      const used = this.#byUser.get(user);
      used?.delete(entry);
      if (used?.size === 0) this.#byUser.delete(user);
    }
  }
}
