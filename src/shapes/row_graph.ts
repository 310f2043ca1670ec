/**
 * The rows a client holds, as a graph: an edge `from -> to` labelled with a layer says that
 * `to` is in that layer because of `from` (its parent row in the layer above; none for a root
 * layer). A row is held while it has at least one incoming edge, so a row reachable through
 * several shapes or paths stays until the last one goes.
 */
import type { TableModel } from "../schema/mod.ts";
import { type RowKey, tableKey } from "./row_key.ts";

export interface Edge {
  layer: string;
  /** The parent row; null for a root layer. */
  from: RowKey | null;
  to: RowKey;
}

export interface HeldRow {
  key: RowKey;
  table: TableModel;
  /** The row as the client has it. */
  record: Record<string, string | null>;
  tags: string[];
  incoming: Map<string, Edge>;
  outgoing: Map<string, Edge>;
}

export function edgeKey(edge: Edge): string {
  return `${edge.layer}\u0000${edge.from ?? ""}\u0000${edge.to}`;
}

const NO_TAGS: string[] = [];

export class RowGraph {
  readonly rows = new Map<RowKey, HeldRow>();
  /** What a held row keeps of its record (the columns membership reads); default: all. */
  project: (table: TableModel, record: Record<string, string | null>) => Record<
    string,
    string | null
  > = (_table, record) => record;
  readonly #byTable = new Map<string, Set<RowKey>>();
  /** Rows that lost their last incoming edge but still have outgoing ones to be removed. */
  readonly #detached = new Map<RowKey, HeldRow>();

  get(key: RowKey): HeldRow | undefined {
    return this.rows.get(key);
  }

  has(key: RowKey): boolean {
    return this.rows.has(key);
  }

  keysOfTable(table: { schema: string; name: string }): ReadonlySet<RowKey> {
    return this.#byTable.get(tableKey(table)) ?? new Set();
  }

  isMember(layer: string, key: RowKey): boolean {
    const row = this.rows.get(key);
    if (!row) return false;
    for (const edge of row.incoming.values()) if (edge.layer === layer) return true;
    return false;
  }

  layersOf(key: RowKey): Set<string> {
    const layers = new Set<string>();
    for (const edge of this.rows.get(key)?.incoming.values() ?? []) layers.add(edge.layer);
    return layers;
  }

  /** Adds the edge; `row` provides the target's data when the target is not held yet. */
  addEdge(
    edge: Edge,
    row: () => Pick<HeldRow, "table" | "record" | "tags">,
  ): boolean {
    const key = edgeKey(edge);
    let target = this.rows.get(edge.to);
    if (target?.incoming.has(key)) return false;
    if (!target) {
      const data = row();
      const detached = this.#detached.get(edge.to);
      this.#detached.delete(edge.to);
      target = {
        key: edge.to,
        table: data.table,
        record: this.project(data.table, data.record),
        // Tags of what is sent come from the transaction or the fetched rows, not from here.
        tags: NO_TAGS,
        incoming: new Map(),
        outgoing: detached?.outgoing ?? new Map(),
      };
      this.rows.set(edge.to, target);
      const t = tableKey(data.table);
      if (!this.#byTable.has(t)) this.#byTable.set(t, new Set());
      this.#byTable.get(t)!.add(edge.to);
    }
    target.incoming.set(key, edge);
    if (edge.from !== null) this.#source(edge.from)?.outgoing.set(key, edge);
    return true;
  }

  /** Removes the edge; the target stops being held when it was its last incoming edge. */
  removeEdge(edge: Edge): boolean {
    const key = edgeKey(edge);
    const target = this.rows.get(edge.to);
    if (!target?.incoming.delete(key)) return false;
    if (edge.from !== null) {
      const source = this.#source(edge.from);
      source?.outgoing.delete(key);
      if (source?.outgoing.size === 0) this.#detached.delete(edge.from);
    }
    if (target.incoming.size === 0) {
      this.rows.delete(edge.to);
      this.#byTable.get(tableKey(target.table))?.delete(edge.to);
      if (target.outgoing.size > 0) this.#detached.set(edge.to, target);
    }
    return true;
  }

  /** A held row's data changed: keep its new values. */
  refresh(key: RowKey, record: Record<string, string | null>): void {
    const row = this.rows.get(key);
    if (row) row.record = this.project(row.table, record);
  }

  #source(key: RowKey): HeldRow | undefined {
    return this.rows.get(key) ?? this.#detached.get(key);
  }

  incomingOf(key: RowKey, layer: string): Edge[] {
    return [...(this.rows.get(key)?.incoming.values() ?? [])].filter((e) => e.layer === layer);
  }

  outgoingOf(key: RowKey, layer: string): Edge[] {
    return [...(this.#source(key)?.outgoing.values() ?? [])].filter((e) => e.layer === layer);
  }
}
