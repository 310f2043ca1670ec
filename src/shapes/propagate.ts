/**
 * One round of graph maintenance: given rows whose data changed or became known (a
 * transaction's changes, referenced parents, initial or move-in data), recompute which layers
 * they belong to, and follow every change of membership through the layer tree until nothing
 * moves. The journal remembers how each touched row was before, so callers can tell inserts,
 * updates, move-ins and move-outs apart afterwards.
 *
 * Membership rules (postgres-side.md §9.4): a root-layer row passes the where clause and the
 * live ownership filter; a one-to-many row also needs its parent row in the parent layer; a
 * many-to-one row is in the layer while some row of the child layer references it.
 */
import type { TableModel } from "../schema/mod.ts";
import type { LayerIndex, LayerInfo } from "./layer_index.ts";
import { OWNER_COLUMN } from "./layer_query.ts";
import type { Edge, RowGraph } from "./row_graph.ts";
import { type RowKey, rowKey } from "./row_key.ts";
import type { ShapeRow } from "./types.ts";
import { evaluateWhere } from "./where_eval.ts";

type Row = Record<string, string | null>;

export interface KnownRow {
  table: TableModel;
  /** null: deleted. */
  record: Row | null;
  tags: string[];
  /** Created by this transaction (its children cannot pre-exist, so no move-in query). */
  inserted?: boolean;
  /** Changed by the transaction (as opposed to referenced or fetched). */
  changed?: boolean;
}

export interface JournalEntry {
  table?: TableModel;
  held: boolean;
  layers: Set<string>;
  record?: Row;
  tags?: string[];
}

const MAX_STEPS = 10_000_000;

export class Propagation {
  readonly known = new Map<RowKey, KnownRow>();
  readonly journal = new Map<RowKey, JournalEntry>();
  /** layer id → rows that moved into it and need their one-to-many children fetched. */
  readonly moveIns = new Map<string, Map<RowKey, ShapeRow>>();
  readonly #queue: RowKey[] = [];
  readonly #queued = new Set<RowKey>();
  readonly #indexes = new Map<string, Map<string, RowKey[]>>();

  constructor(
    readonly graph: RowGraph,
    readonly index: LayerIndex,
    /** Without `userId` the ownership filter is skipped: fetched rows already passed it. */
    readonly options: { userId?: string; moveIns: boolean },
  ) {}

  enqueue(key: RowKey): void {
    if (this.#queued.has(key)) return;
    this.#queued.add(key);
    this.#queue.push(key);
  }

  run(): void {
    let steps = 0;
    for (let key = this.#queue.shift(); key !== undefined; key = this.#queue.shift()) {
      this.#queued.delete(key);
      this.#evaluateRow(key);
      if (++steps > MAX_STEPS) throw new Error("Shape graph propagation does not converge");
    }
  }

  tableOf(key: RowKey): TableModel | undefined {
    return this.known.get(key)?.table ?? this.graph.get(key)?.table;
  }

  recordOf(key: RowKey): Row | null {
    const known = this.known.get(key);
    if (known) return known.record;
    return this.graph.get(key)?.record ?? null;
  }

  tagsOf(key: RowKey): string[] {
    return this.known.get(key)?.tags ?? this.graph.get(key)?.tags ?? [];
  }

  #passes(layer: LayerInfo, record: Row | null): boolean {
    if (record === null) return false;
    const { table, where } = layer.plan;
    if (this.options.userId !== undefined && table.columns.some((c) => c.name === OWNER_COLUMN)) {
      const owner = record[OWNER_COLUMN];
      if (owner !== null && owner !== undefined && owner !== "" && owner !== this.options.userId) {
        return false;
      }
    }
    return where === undefined || evaluateWhere(where, record);
  }

  /**
   * Rows of `table` whose `columns` hold `values`: by primary key directly, otherwise among
   * the known rows (through an index built on first use) and, with `held`, the held ones.
   */
  #find(
    table: TableModel,
    columns: string[],
    values: (string | null)[],
    held = true,
  ): RowKey[] {
    if (values.some((v) => v === null || v === undefined)) return [];
    const pk = table.primaryKey;
    if (pk.length === columns.length && pk.every((c) => columns.includes(c))) {
      const record = Object.fromEntries(columns.map((c, i) => [c, values[i]]));
      const key = rowKey(table, pk, record);
      return this.recordOf(key) === null ? [] : [key];
    }
    const found = new Set(this.#knownIndex(table, columns).get(JSON.stringify(values)) ?? []);
    if (held) {
      for (const key of this.graph.keysOfTable(table)) {
        const record = this.recordOf(key);
        if (record !== null && columns.every((c, i) => record[c] === values[i])) found.add(key);
      }
    }
    return [...found].filter((key) => this.recordOf(key) !== null);
  }

  #knownIndex(table: TableModel, columns: string[]): Map<string, RowKey[]> {
    const id = `${table.schema}.${table.name}(${columns.join(",")})`;
    let index = this.#indexes.get(id);
    if (index) return index;
    index = new Map();
    for (const [key, row] of this.known) {
      if (row.record === null || row.table.schema !== table.schema) continue;
      if (row.table.name !== table.name) continue;
      const values = JSON.stringify(columns.map((c) => row.record![c] ?? null));
      index.set(values, [...(index.get(values) ?? []), key]);
    }
    this.#indexes.set(id, index);
    return index;
  }

  #touch(key: RowKey): void {
    if (this.journal.has(key)) return;
    const held = this.graph.get(key);
    this.journal.set(key, {
      table: this.tableOf(key),
      held: held !== undefined,
      layers: this.graph.layersOf(key),
      ...(held ? { record: held.record, tags: held.tags } : {}),
    });
  }

  #add(edge: Edge): void {
    this.#touch(edge.to);
    const was = this.graph.isMember(edge.layer, edge.to);
    this.graph.addEdge(edge, () => ({
      table: this.tableOf(edge.to)!,
      record: this.recordOf(edge.to) ?? {},
      tags: this.tagsOf(edge.to),
    }));
    if (!was) this.#flip(edge.layer, edge.to, true);
  }

  #remove(edge: Edge): void {
    this.#touch(edge.to);
    if (!this.graph.removeEdge(edge)) return;
    if (!this.graph.isMember(edge.layer, edge.to)) this.#flip(edge.layer, edge.to, false);
  }

  /** `key` entered or left `layerId`: its rows in the child layers must follow. */
  #flip(layerId: string, key: RowKey, member: boolean): void {
    const layer = this.index.layers.get(layerId);
    if (!layer) return;
    this.enqueue(key);
    for (const child of layer.children) {
      if (!member) {
        for (const edge of this.graph.outgoingOf(key, child.id)) this.#remove(edge);
        continue;
      }
      if (child.plan.relation?.kind !== "one_to_many") continue;
      const fk = child.plan.relation.fk;
      const record = this.recordOf(key);
      const values = fk.parentColumns.map((c) => record?.[c] ?? null);
      // Held rows are not searched (that would cost a scan per parent): children the client
      // already holds are linked when the move-in query returns them.
      for (const candidate of this.#find(child.plan.table, fk.columns, values, false)) {
        this.enqueue(candidate);
      }
      this.#noteMoveIn(layer, key);
    }
  }

  #noteMoveIn(layer: LayerInfo, key: RowKey): void {
    if (!this.options.moveIns || this.known.get(key)?.inserted) return;
    if (this.journal.get(key)?.layers.has(layer.id)) return;
    const record = this.recordOf(key);
    const table = this.tableOf(key);
    if (record === null || !table) return;
    if (!this.moveIns.has(layer.id)) this.moveIns.set(layer.id, new Map());
    this.moveIns.get(layer.id)!.set(key, {
      schema: table.schema,
      table: table.name,
      record,
      tags: this.tagsOf(key),
    });
  }

  #evaluateRow(key: RowKey): void {
    const table = this.tableOf(key);
    if (!table) return;
    const record = this.recordOf(key);
    const layers = this.index.onTable(table);
    for (const layer of layers) this.#membership(layer, key, record);
    for (const layer of layers) {
      if (!this.graph.isMember(layer.id, key)) continue;
      for (const child of layer.children) {
        if (child.plan.relation?.kind === "many_to_one") this.#parentEdge(child, key, record);
      }
    }
  }

  #membership(layer: LayerInfo, key: RowKey, record: Row | null): void {
    const relation = layer.plan.relation;
    if (!layer.parent || !relation) {
      const edge = { layer: layer.id, from: null, to: key };
      if (this.#passes(layer, record)) this.#add(edge);
      else this.#remove(edge);
      return;
    }
    const parentLayer = layer.parent;
    if (relation.kind === "one_to_many") {
      const values = relation.fk.columns.map((c) => record?.[c] ?? null);
      const parent = record === null ? undefined : this.#find(
        parentLayer.plan.table,
        relation.fk.parentColumns,
        values,
      ).find((p) => this.graph.isMember(parentLayer.id, p));
      const want = parent !== undefined && this.#passes(layer, record);
      for (const edge of this.graph.incomingOf(key, layer.id)) {
        if (!want || edge.from !== parent) this.#remove(edge);
      }
      if (want) this.#add({ layer: layer.id, from: parent!, to: key });
      return;
    }
    // many-to-one: edges are added from the referencing side; here they are only re-checked.
    for (const edge of this.graph.incomingOf(key, layer.id)) {
      const child = edge.from === null ? null : this.recordOf(edge.from);
      const ok = record !== null && child !== null && this.#passes(layer, record) &&
        this.graph.isMember(parentLayer.id, edge.from!) &&
        relation.fk.columns.every((c, i) => child[c] === record[relation.fk.parentColumns[i]]);
      if (!ok) this.#remove(edge);
    }
  }

  /** The many-to-one edge from `key` (a member of `layer`'s parent layer) to its parent row. */
  #parentEdge(layer: LayerInfo, key: RowKey, record: Row | null): void {
    const fk = layer.plan.relation!.fk;
    const values = fk.columns.map((c) => record?.[c] ?? null);
    const target = this.#find(layer.plan.table, fk.parentColumns, values)[0];
    const want = target !== undefined && this.#passes(layer, this.recordOf(target));
    for (const edge of this.graph.outgoingOf(key, layer.id)) {
      if (!want || edge.to !== target) this.#remove(edge);
    }
    if (want) this.#add({ layer: layer.id, from: key, to: target });
  }

  /** Makes a row's data known (changed, referenced or fetched) under `key`. */
  know(key: RowKey, row: KnownRow): void {
    this.known.set(key, row);
    this.#indexes.clear();
  }
}
