/**
 * Live filtering for stateless groups (every request a single layer): a row is in the group
 * when some layer on its table passes it (where clause and ownership filter), so a change's
 * old and new values decide what a client holding the group receives (satellite-protocol.md
 * §7.5) — no per-row state at all. Electrified tables have REPLICA IDENTITY FULL, so updates
 * and deletes carry the whole old row. Pure.
 *
 * Per row key, the first old value and the last new value of the transaction are compared:
 * out → in is an insert, in → in an update, in → out a gone, in → deleted a delete. A primary
 * key change is the old key deleted and the new key inserted.
 */
import type { Transaction } from "../replication/mod.ts";
import type { TableModel } from "../schema/mod.ts";
import type { GroupDefinition } from "./group.ts";
import { OWNER_COLUMN } from "./layer_query.ts";
import { primaryKeyRecord, tableKey } from "./row_key.ts";
import type { LayerPlan, OutChange } from "./types.ts";
import { evaluateWhere } from "./where_eval.ts";

type Row = Record<string, string | null>;

/** Whether `record` passes `layer` for `owner` (undefined: no ownership filter applies). */
export function passesLayer(layer: LayerPlan, record: Row, owner: string | undefined): boolean {
  if (owner !== undefined) {
    const value = record[OWNER_COLUMN];
    if (value !== null && value !== undefined && value !== "" && value !== owner) return false;
  }
  return layer.where === undefined || evaluateWhere(layer.where, record);
}

/**
 * Which row a change is about, within one transaction: table and primary key values (text
 * holds no NUL, so NUL separates; NULL and text differ by a prefix). Cheaper than the JSON of
 * RowKey, and never leaves this function.
 */
function localKey(table: TableModel, record: Row): string {
  let key = table.name;
  for (const column of table.primaryKey) {
    const value = record[column];
    key += value === null || value === undefined ? "\u0000n" : `\u0000s${value}`;
  }
  return key;
}

interface Pending {
  table: TableModel;
  /** The row before the transaction; null: it did not exist. */
  old: Row | null;
  /** The row after it; null: deleted. */
  now: Row | null;
  tags: string[];
}

export class StatelessFilter {
  readonly #owner: string | undefined;
  readonly #layers = new Map<string, LayerPlan[]>();

  constructor(definition: Pick<GroupDefinition, "roots" | "owner">) {
    this.#owner = definition.owner;
    for (const root of definition.roots) {
      const key = tableKey(root.table);
      if (!this.#layers.has(key)) this.#layers.set(key, []);
      this.#layers.get(key)!.push(root);
    }
  }

  /** The table model when some layer covers `schema.table`. */
  table(schema: string, name: string): TableModel | undefined {
    return this.#layers.get(`${schema}.${name}`)?.[0].table;
  }

  /** Whether the group holds `record` of `schema.table`. */
  holds(schema: string, name: string, record: Row): boolean {
    const layers = this.#layers.get(`${schema}.${name}`);
    if (!layers) return false;
    for (const layer of layers) if (passesLayer(layer, record, this.#owner)) return true;
    return false;
  }

  /** What a client holding this group receives of `tx`, in order of first appearance. */
  filter(tx: Pick<Transaction, "changes">): OutChange[] {
    const rows = new Map<string, Pending>();
    const note = (
      table: TableModel,
      key: string,
      old: Row | null,
      now: Row | null,
      tags: string[],
    ) => {
      const seen = rows.get(key);
      if (seen) {
        seen.now = now;
        seen.tags = tags;
      } else rows.set(key, { table, old, now, tags });
    };
    for (const change of tx.changes) {
      if (change.kind === "truncate") continue;
      const layers = this.#layers.get(`${change.relation.schema}.${change.relation.table}`);
      if (!layers) continue;
      const table = layers[0].table;
      if (change.kind === "insert" && change.record) {
        note(table, localKey(table, change.record), null, change.record, change.tags);
      } else if (change.kind === "update" && change.record) {
        const key = localKey(table, change.record);
        const old = change.oldRecord ?? null;
        const oldKey = old ? localKey(table, old) : key;
        if (oldKey !== key) {
          note(table, oldKey, old, null, []);
          note(table, key, null, change.record, change.tags);
        } else note(table, key, old, change.record, change.tags);
      } else if (change.kind === "delete" && change.oldRecord) {
        note(table, localKey(table, change.oldRecord), change.oldRecord, null, []);
      }
    }
    const out: OutChange[] = [];
    for (const { table, old, now, tags } of rows.values()) {
      const name = { schema: table.schema, table: table.name };
      const before = old !== null && this.holds(table.schema, table.name, old);
      const after = now !== null && this.holds(table.schema, table.name, now);
      if (!before && after) out.push({ kind: "insert", ...name, record: now!, tags });
      else if (before && after) {
        out.push({ kind: "update", ...name, record: now!, oldRecord: old!, tags });
      } else if (before && now === null) {
        out.push({ kind: "delete", ...name, record: old!, tags: [] });
      } else if (before) {
        out.push({ kind: "gone", ...name, record: primaryKeyRecord(table, old!), tags: [] });
      }
    }
    return out;
  }
}
