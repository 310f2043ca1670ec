/**
 * Per client connection: the active subscriptions and the graph of rows the client holds.
 * Decides, for each transaction, what the client must receive (satellite-protocol.md §7.5):
 * inserts, updates and deletes of rows in its shapes, rows entering a shape as inserts, rows
 * leaving it as `gone` (with everything only reachable through them), parents the
 * transaction references, and the move-in queries to run. No I/O.
 *
 * Resume: `toJSON` keeps the graph; plans are not part of it (they are rebuilt from the stored
 * subscription requests with `planSubscription` and passed to `fromJSON`).
 */
import type { TableModel } from "../schema/mod.ts";
import type { Transaction } from "../replication/mod.ts";
import { LayerIndex } from "./layer_index.ts";
import { type KnownRow, Propagation } from "./propagate.ts";
import { type Edge, edgeKey, RowGraph } from "./row_graph.ts";
import { primaryKeyKey, primaryKeyRecord, type RowKey } from "./row_key.ts";
import type { MoveInRequest, OutChange, ShapeRow, SubscriptionPlan } from "./types.ts";

type Row = Record<string, string | null>;

interface StoredState {
  format: 1;
  subscriptions: string[];
  rows: {
    schema: string;
    table: string;
    record: Row;
    tags: string[];
    edges: [layer: string, from: string | null][];
  }[];
}

export class ShapeState {
  readonly #index = new LayerIndex();
  readonly #graph = new RowGraph();

  hasSubscription(id: string): boolean {
    return this.#index.plans.has(id);
  }

  subscriptionIds(): string[] {
    return [...this.#index.plans.keys()];
  }

  plan(id: string): SubscriptionPlan | undefined {
    return this.#index.plans.get(id);
  }

  /** Number of rows the client holds. */
  get size(): number {
    return this.#graph.rows.size;
  }

  holds(schema: string, table: string, record: Row): boolean {
    const model = this.#index.table(schema, table);
    return model !== undefined && this.#graph.has(primaryKeyKey(model, record));
  }

  /**
   * The fetched data without rows the client already holds (and each row once across the
   * requests): what to send. Call before `addSubscription`.
   */
  unsentRows(plan: SubscriptionPlan, data: Map<string, ShapeRow[]>): Map<string, ShapeRow[]> {
    const tables = new Map<string, TableModel>();
    const visit = (layer: SubscriptionPlan["requests"][number]["root"]) => {
      tables.set(`${layer.table.schema}.${layer.table.name}`, layer.table);
      layer.children.forEach(visit);
    };
    plan.requests.forEach((r) => visit(r.root));
    const seen = new Set<RowKey>();
    const out = new Map<string, ShapeRow[]>();
    for (const [requestId, rows] of data) {
      out.set(
        requestId,
        rows.filter((row) => {
          const key = primaryKeyKey(tables.get(`${row.schema}.${row.table}`)!, row.record);
          if (seen.has(key) || this.#graph.has(key)) return false;
          seen.add(key);
          return true;
        }),
      );
    }
    return out;
  }

  /** Records a subscription whose data was sent; `delivered` is everything fetched for it. */
  addSubscription(plan: SubscriptionPlan, delivered: Map<string, ShapeRow[]>): void {
    this.#index.add(plan);
    const propagation = new Propagation(this.#graph, this.#index, { moveIns: false });
    this.#learn(propagation, [...delivered.values()].flat());
    propagation.run();
  }

  /** Removes subscriptions; returns the rows (primary key only) the client must drop. */
  removeSubscriptions(ids: string[]): { gone: ShapeRow[]; removedIds: string[] } {
    const removedIds = ids.filter((id) => this.#index.plans.has(id));
    const layers = new Set<string>();
    for (const id of removedIds) for (const layer of this.#index.remove(id)) layers.add(layer);
    const gone: ShapeRow[] = [];
    for (const row of [...this.#graph.rows.values()]) {
      for (const edge of [...row.incoming.values()]) {
        if (layers.has(edge.layer)) this.#graph.removeEdge(edge);
      }
      if (!this.#graph.has(row.key)) {
        gone.push({
          schema: row.table.schema,
          table: row.table.name,
          record: primaryKeyRecord(row.table, row.record),
          tags: [],
        });
      }
    }
    return { gone, removedIds };
  }

  /**
   * What a client with these shapes receives of `tx`, and the move-in queries to run.
   * Truncates are left to the caller.
   */
  filterTransaction(
    tx: Pick<Transaction, "changes" | "referencedRecords">,
    options: { userId: string },
  ): { changes: OutChange[]; moveIns: MoveInRequest[] } {
    const propagation = new Propagation(this.#graph, this.#index, {
      userId: options.userId,
      moveIns: true,
    });
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
    return { changes, moveIns: this.#moveInRequests(propagation) };
  }

  /** Records rows fetched for a move-in; returns those to send (not held before). */
  applyMoveIn(request: MoveInRequest, rows: ShapeRow[]): ShapeRow[] {
    if (!this.#index.layers.has(request.layer.id)) return [];
    const propagation = new Propagation(this.#graph, this.#index, { moveIns: false });
    const keys = this.#learn(propagation, rows);
    propagation.run();
    const sent = new Set<RowKey>();
    return rows.filter((_row, i) => {
      const key = keys[i];
      if (key === undefined || sent.has(key)) return false;
      const before = propagation.journal.get(key);
      const fresh = this.#graph.has(key) && before !== undefined && !before.held;
      if (fresh) sent.add(key);
      return fresh;
    });
  }

  /** Makes fetched rows known and queues them; their keys, undefined for unknown tables. */
  #learn(propagation: Propagation, rows: ShapeRow[]): (RowKey | undefined)[] {
    return rows.map((row) => {
      const table = this.#index.table(row.schema, row.table);
      if (!table) return undefined;
      const key = primaryKeyKey(table, row.record);
      propagation.know(key, { table, record: row.record, tags: row.tags });
      propagation.enqueue(key);
      return key;
    });
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
      const held = this.#graph.get(key);
      const before = journal ? journal.held : held !== undefined;
      const table = journal?.table ?? propagation.tableOf(key);
      if (!table) continue;
      const name = { schema: table.schema, table: table.name };
      const clientRecord = journal?.record ?? oldRecords.get(key) ?? known?.record ?? {};
      if (held && known?.changed && known.record) {
        held.record = known.record;
        held.tags = known.tags;
      }
      if (!before && held) {
        const change: OutChange = { kind: "insert", ...name, record: held.record, tags: held.tags };
        (known?.changed ? changes : parents).push(change);
      } else if (before && held && known?.changed) {
        changes.push({
          kind: "update",
          ...name,
          record: held.record,
          oldRecord: clientRecord,
          tags: held.tags,
        });
      } else if (before && !held) {
        if (known?.changed && known.record === null) {
          changes.push({ kind: "delete", ...name, record: clientRecord, tags: [] });
        } else {
          (known?.changed ? changes : gone).push({
            kind: "gone",
            ...name,
            record: primaryKeyRecord(table, clientRecord),
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

  toJSON(): StoredState {
    return {
      format: 1,
      subscriptions: this.subscriptionIds(),
      rows: [...this.#graph.rows.values()].map((row) => ({
        schema: row.table.schema,
        table: row.table.name,
        record: row.record,
        tags: row.tags,
        edges: [...row.incoming.values()].map((e) => [e.layer, e.from] as [string, string | null]),
      })),
    };
  }

  /** Rebuilds a state from `toJSON` output and the plans of its subscriptions. */
  static fromJSON(json: unknown, plans: Iterable<SubscriptionPlan>): ShapeState {
    const stored = json as StoredState;
    if (stored?.format !== 1 || !Array.isArray(stored.rows)) {
      throw new Error("Stored shape state is not readable: unknown format");
    }
    const state = new ShapeState();
    const byId = new Map([...plans].map((p) => [p.subscriptionId, p]));
    for (const id of stored.subscriptions) {
      const plan = byId.get(id);
      if (!plan) throw new Error(`Stored shape state is not readable: no plan for "${id}"`);
      state.#index.add(plan);
    }
    const edges: Edge[] = [];
    for (const row of stored.rows) {
      const table = state.#index.table(row.schema, row.table);
      if (!table) continue;
      const key = primaryKeyKey(table, row.record);
      for (const [layer, from] of row.edges) {
        if (!state.#index.layers.has(layer)) continue;
        const edge = { layer, from, to: key };
        edges.push(edge);
        state.#graph.addEdge(edge, () => ({ table, record: row.record, tags: row.tags }));
      }
    }
    // Sources may have been created after their edges: link outgoing edges now.
    for (const edge of edges) {
      if (edge.from !== null) state.#graph.get(edge.from)?.outgoing.set(edgeKey(edge), edge);
    }
    return state;
  }
}
