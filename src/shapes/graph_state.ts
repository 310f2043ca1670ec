/**
 * Membership of a group whose requests have include trees (or automatic parents): the rows the
 * group holds, as a graph of layer edges (row_graph.ts), maintained once per transaction for
 * every client of the group. Decides what those clients receive (satellite-protocol.md §7.5):
 * inserts, updates and deletes of held rows, rows entering as inserts, rows leaving as `gone`
 * (with everything only reachable through them), the parents a transaction references, and the
 * move-in queries to run. No I/O.
 *
 * Held rows keep only the columns membership needs (primary key, owner, the columns where
 * clauses and relations read), not whole rows: what is sent comes from the transaction (new and
 * old rows; tables have REPLICA IDENTITY FULL) or from fetched data. Every round reports the
 * keys that started and stopped being held, which is what gets persisted.
 */
import type { TableModel } from "../schema/mod.ts";
import type { Transaction } from "../replication/mod.ts";
import type { GroupDefinition } from "./group.ts";
import { LayerIndex } from "./layer_index.ts";
import { OWNER_COLUMN, relationColumns } from "./layer_query.ts";
import { type KnownRow, Propagation } from "./propagate.ts";
import { RowGraph } from "./row_graph.ts";
import { primaryKeyKey, primaryKeyRecord, type RowKey, tableKey } from "./row_key.ts";
import type { LayerPlan, MoveInRequest, OutChange, ShapeRow } from "./types.ts";
import type { WhereExpr } from "./where_types.ts";

type Row = Record<string, string | null>;

/** Keys that started and stopped being held in one round. */
export interface MembershipChange {
  added: RowKey[];
  removed: RowKey[];
}

export interface GraphRound extends MembershipChange {
  changes: OutChange[];
  moveIns: MoveInRequest[];
}

function whereColumns(expr: WhereExpr | undefined, into: Set<string>): void {
  if (!expr) return;
  if (expr.op === "column") {
    into.add(expr.name);
    return;
  }
  for (const value of Object.values(expr)) {
    if (value && typeof value === "object") {
      if (Array.isArray(value)) value.forEach((v) => whereColumns(v as WhereExpr, into));
      else if ("op" in value) whereColumns(value as WhereExpr, into);
    }
  }
}

/** Per table: the columns membership reads (what held rows keep). */
function projections(roots: readonly LayerPlan[]): Map<string, string[]> {
  const columns = new Map<string, Set<string>>();
  const add = (table: TableModel, names: Iterable<string>) => {
    const key = tableKey(table);
    if (!columns.has(key)) columns.set(key, new Set(table.primaryKey));
    for (const name of names) columns.get(key)!.add(name);
  };
  const visit = (layer: LayerPlan, parent?: LayerPlan) => {
    const own = new Set<string>();
    whereColumns(layer.where, own);
    if (layer.table.columns.some((c) => c.name === OWNER_COLUMN)) own.add(OWNER_COLUMN);
    if (layer.relation && parent) {
      const { own: mine, parent: theirs } = relationColumns(layer.relation);
      mine.forEach((c) => own.add(c));
      add(parent.table, theirs);
    }
    add(layer.table, own);
    for (const child of layer.children) visit(child, layer);
  };
  roots.forEach((root) => visit(root));
  return new Map([...columns].map(([key, set]) => [key, [...set]]));
}

export class GraphState {
  readonly #index = new LayerIndex();
  readonly #graph = new RowGraph();
  readonly #owner: string | undefined;

  constructor(definition: Pick<GroupDefinition, "roots" | "owner">) {
    this.#owner = definition.owner;
    this.#index.add({
      subscriptionId: "group",
      requests: definition.roots.map((root, i) => ({ requestId: String(i), root })),
    });
    const projection = projections(definition.roots);
    this.#graph.project = (table, record) => {
      const names = projection.get(tableKey(table)) ?? table.primaryKey;
      const kept: Row = {};
      for (const name of names) kept[name] = record[name] ?? null;
      return kept;
    };
  }

  /** Number of rows held. */
  get size(): number {
    return this.#graph.rows.size;
  }

  has(key: RowKey): boolean {
    return this.#graph.has(key);
  }

  keys(): IterableIterator<RowKey> {
    return this.#graph.rows.keys();
  }

  /** The model of a table some layer covers. */
  table(schema: string, name: string): TableModel | undefined {
    return this.#index.table(schema, name);
  }

  /** The key of `record` of `schema.table`, when the group covers that table. */
  keyOf(schema: string, name: string, record: Row): RowKey | undefined {
    const table = this.#index.table(schema, name);
    return table ? primaryKeyKey(table, record) : undefined;
  }

  /** Makes fetched rows (initial data, a snapshot) held; returns the keys now held. */
  load(rows: readonly ShapeRow[]): MembershipChange {
    const propagation = this.#propagation(undefined, false);
    this.#learn(propagation, rows);
    propagation.run();
    return this.#membership(propagation);
  }

  /** What the group's clients receive of `tx`, the move-in queries to run, held-key changes. */
  apply(tx: Pick<Transaction, "changes" | "referencedRecords">): GraphRound {
    const propagation = this.#propagation(this.#owner, true);
    const order: RowKey[] = [];
    const oldRecords = new Map<RowKey, Row>();
    const know = (key: RowKey, row: KnownRow, old?: Row) => {
      const previous = propagation.known.get(key);
      if (!previous) order.push(key);
      if (old && !oldRecords.has(key)) oldRecords.set(key, old);
      propagation.know(key, {
        ...row,
        inserted: previous ? previous.inserted : row.inserted,
        changed: true,
      });
    };
    for (const change of tx.changes) {
      if (change.kind === "truncate") continue;
      const table = this.#index.table(change.relation.schema, change.relation.table);
      if (!table) continue;
      const tags = change.tags;
      if (change.kind === "insert" && change.record) {
        know(primaryKeyKey(table, change.record), {
          table,
          record: change.record,
          tags,
          inserted: true,
        });
      } else if (change.kind === "update" && change.record) {
        const key = primaryKeyKey(table, change.record);
        const oldKey = change.oldRecord ? primaryKeyKey(table, change.oldRecord) : key;
        if (oldKey !== key) {
          know(oldKey, { table, record: null, tags: [] }, change.oldRecord);
          know(key, { table, record: change.record, tags, inserted: true });
        } else know(key, { table, record: change.record, tags }, change.oldRecord);
      } else if (change.kind === "delete" && change.oldRecord) {
        know(
          primaryKeyKey(table, change.oldRecord),
          { table, record: null, tags: [] },
          change.oldRecord,
        );
      }
    }
    for (const ref of tx.referencedRecords) {
      const table = this.#index.table(ref.schema, ref.table);
      if (!table) continue;
      const key = primaryKeyKey(table, ref.record);
      if (!propagation.known.has(key)) {
        propagation.know(key, { table, record: ref.record, tags: ref.tags });
      }
    }
    for (const key of order) propagation.enqueue(key);
    propagation.run();
    const changes = this.#output(propagation, order, oldRecords);
    return {
      changes,
      moveIns: this.#moveInRequests(propagation),
      ...this.#membership(propagation),
    };
  }

  /** Makes rows fetched for a move-in held; returns those to send (not held before). */
  applyMoveIn(
    request: MoveInRequest,
    rows: readonly ShapeRow[],
  ): MembershipChange & { fresh: ShapeRow[] } {
    if (!this.#index.layers.has(request.layer.id)) return { fresh: [], added: [], removed: [] };
    const propagation = this.#propagation(undefined, false);
    const keys = this.#learn(propagation, rows);
    propagation.run();
    const sent = new Set<RowKey>();
    const fresh = rows.filter((_row, i) => {
      const key = keys[i];
      if (key === undefined || sent.has(key)) return false;
      const before = propagation.journal.get(key);
      const isFresh = this.#graph.has(key) && before !== undefined && !before.held;
      if (isFresh) sent.add(key);
      return isFresh;
    });
    return { fresh, ...this.#membership(propagation) };
  }

  /** Without an owner the ownership filter is skipped: fetched rows already passed it. */
  #propagation(owner: string | undefined, moveIns: boolean): Propagation {
    return new Propagation(this.#graph, this.#index, { userId: owner, moveIns });
  }

  /** Makes fetched rows known and queues them; their keys, undefined for unknown tables. */
  #learn(propagation: Propagation, rows: readonly ShapeRow[]): (RowKey | undefined)[] {
    return rows.map((row) => {
      const table = this.#index.table(row.schema, row.table);
      if (!table) return undefined;
      const key = primaryKeyKey(table, row.record);
      propagation.know(key, { table, record: row.record, tags: row.tags });
      propagation.enqueue(key);
      return key;
    });
  }

  #membership(propagation: Propagation): MembershipChange {
    const added: RowKey[] = [];
    const removed: RowKey[] = [];
    for (const [key, entry] of propagation.journal) {
      const now = this.#graph.has(key);
      if (now && !entry.held) added.push(key);
      else if (!now && entry.held) removed.push(key);
    }
    return { added, removed };
  }

  #output(propagation: Propagation, order: RowKey[], oldRecords: Map<RowKey, Row>): OutChange[] {
    const parents: OutChange[] = [];
    const changes: OutChange[] = [];
    const gone: OutChange[] = [];
    const inOrder = new Set(order);
    const keys = [...order, ...[...propagation.journal.keys()].filter((k) => !inOrder.has(k))];
    for (const key of keys) {
      const journal = propagation.journal.get(key);
      const known = propagation.known.get(key);
      const held = this.#graph.has(key);
      const before = journal ? journal.held : held;
      const table = journal?.table ?? propagation.tableOf(key);
      if (!table) continue;
      const name = { schema: table.schema, table: table.name };
      if (held && known?.changed && known.record) this.#graph.refresh(key, known.record);
      // The row as the client has it: the transaction's old row, else what the group kept.
      const old = oldRecords.get(key) ?? journal?.record ?? known?.record ?? {};
      if (!before && held) {
        if (!known?.record) continue; // cannot happen: rows only enter with known data
        const change: OutChange = {
          kind: "insert",
          ...name,
          record: known.record,
          tags: known.tags,
        };
        (known.changed ? changes : parents).push(change);
      } else if (before && held && known?.changed && known.record) {
        changes.push({
          kind: "update",
          ...name,
          record: known.record,
          oldRecord: old,
          tags: known.tags,
        });
      } else if (before && !held) {
        if (known?.changed && known.record === null) {
          changes.push({ kind: "delete", ...name, record: old, tags: [] });
        } else {
          (known?.changed ? changes : gone).push({
            kind: "gone",
            ...name,
            record: primaryKeyRecord(table, old),
            tags: [],
          });
        }
      }
    }
    return [...parents, ...changes, ...gone];
  }

  #moveInRequests(propagation: Propagation): MoveInRequest[] {
    const requests: MoveInRequest[] = [];
    for (const [layerId, rows] of propagation.moveIns) {
      const layer = this.#index.layers.get(layerId)!;
      const stillIn = [...rows].filter(([key]) => this.#graph.isMember(layerId, key));
      if (stillIn.length === 0) continue;
      requests.push({
        subscriptionId: layer.subscriptionId,
        requestId: layer.requestId,
        layer: layer.plan,
        rows: stillIn.map(([, row]) => row),
      });
    }
    return requests;
  }
}
