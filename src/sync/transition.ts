/**
 * A change of the groups a client holds, taking effect at one insertion point of the stream:
 * a subscription (groups appear or merge), an unsubscription (groups disappear or split), a
 * change of what the user may read (groups narrowed or widened), or a resume (graph groups
 * rejoined after a disconnect or restart). One snapshot read works out what
 * the client must receive right there: the rows it starts to hold (subscription data, or the
 * rows to refresh on a resume) and the rows it stops holding (a GONE batch, or the rows to
 * drop on a resume). Only the groups that appear and disappear are looked at: every other group
 * of the client is on other tables.
 *
 * How membership at the insertion point is known: stateless groups by evaluating their rows;
 * running graph groups by a capture at that point; new graph groups start from this read.
 */
import {
  type GroupDefinition,
  type GroupMember,
  isKeyOf,
  keyRecord,
  type LayerPlan,
  requestKey,
  type RowKey,
  type ShapeRow,
  tableKey,
} from "../shapes/mod.ts";
import { primaryKeyKey } from "../shapes/mod.ts";
import type { Sql } from "../storage/mod.ts";
import type { GraphGroup, MembershipCapture } from "./graph_group.ts";
import { fetchGroupRows } from "./group_rows.ts";
import { type RawRowBatch, streamLayerRows } from "../shapes/mod.ts";
import type { Group, ShapeHub } from "./hub.ts";
import { type ConsistentRead, sameSnapshot, SnapshotRead } from "./snapshot.ts";
import { StatelessGroup } from "./stateless_group.ts";

/** A group in a client's plan: its definition, the requests in it, its instance once known. */
export interface PlannedGroup {
  definition: GroupDefinition;
  members: GroupMember[];
  /** Set for stateless groups at once, for graph groups when the transition's read settles. */
  group?: Group;
}

/** A row leaving the client: its table and primary key. */
export interface GoneRow {
  table: LayerPlan["table"];
  record: Record<string, string | null>;
}

export interface TransitionData {
  /** Rows to send as inserts (subscription data, or a resume's refreshed rows). */
  inserts: ShapeRow[];
  /**
   * More rows to insert, read from Postgres while they are sent (large initial data): the
   * snapshot stays open until `done()` is called, so the consumer must call it.
   */
  streams: RowStream[];
  gones: GoneRow[];
}

export interface RowStream {
  table: LayerPlan["table"];
  /** Raw rows (column values in table order, then the tags text); see `streamLayerRows`. */
  batches: AsyncIterable<RawRowBatch>;
}

export interface Transition {
  /** `refresh`: the same subscriptions seen with other permissions. */
  kind: "subscribe" | "unsubscribe" | "rejoin" | "refresh";
  read: ConsistentRead<TransitionData>;
  from: PlannedGroup[];
  to: PlannedGroup[];
  /**
   * Lets go of the graph groups it holds on to: the transition keeps their steps from the
   * insertion point on until the client has switched to them (or given up).
   */
  release(): void;
}

export interface RejoinInput {
  /** The position the client resumed from. */
  position: bigint;
  /** Keys of rows of the rejoined groups' tables changed between `position` and the point. */
  changedKeys: Promise<Set<RowKey>>;
}

/** Starts a transition's read now; its data belongs at the read's insertion point. */
export function startTransition(
  hub: ShapeHub,
  options: {
    kind: Transition["kind"];
    from: PlannedGroup[];
    to: PlannedGroup[];
    /** The stream position now (the log's end): everything up to it is in the snapshot. */
    base: bigint;
    sql: Sql;
    causedBy: string;
    rejoin?: RejoinInput;
  },
): Transition {
  const { from, to } = options;
  const fromKeys = new Set(from.map((g) => g.definition.key));
  const toKeys = new Set(to.map((g) => g.definition.key));
  const appearing = to.filter((g) => !fromKeys.has(g.definition.key));
  const leaving = from.filter((g) => !toKeys.has(g.definition.key));
  let inSnapshot!: (sql: Sql) => void;
  const snapshotSql = new Promise<Sql>((resolve) => inSnapshot = resolve);
  const delivered = Promise.withResolvers<TransitionData>();
  const read: SnapshotRead<TransitionData> = new SnapshotRead(
    {
      sql: options.sql,
      base: options.base,
      causedBy: options.causedBy,
      limiter: hub.options.clientReads,
      visibility: hub.options.visibility,
    },
    async (snapshot) => {
      inSnapshot(snapshot);
      await work.durable();
      const data = options.kind === "rejoin" ? await work.rejoin(appearing, options.rejoin!) : {
        ...(await work.arriving(appearing, leaving)),
        gones: await work.departing(leaving, appearing),
      };
      delivered.resolve(data);
      // Streamed rows are read in this snapshot while the client is sent them.
      if (data.streams.length > 0) await work.consumed;
      return data;
    },
  );
  read.result.catch((error) => delivered.reject(error));
  // Everything a group needs is registered now, in the order transitions are made: a group
  // started here exists before any later transition looks for it.
  const work = new TransitionWork(hub, snapshotSql, read);
  for (const planned of [...appearing, ...leaving]) work.membership(planned);
  return {
    kind: options.kind,
    read: sameSnapshot(read, delivered.promise),
    from,
    to,
    release: () => work.release(),
  };
}

/** Membership of one group at the insertion point. */
type Membership =
  | { kind: "stateless"; group: StatelessGroup }
  | { kind: "graph"; group: GraphGroup; capture: Promise<MembershipCapture> };

class TransitionWork {
  readonly #memberships = new Map<string, Membership>();
  readonly #rows = new Map<string, Promise<ShapeRow[]>>();
  /** Graph memberships, once all are known. */
  #keys = new Map<string, Set<RowKey>>();

  constructor(
    readonly hub: ShapeHub,
    readonly sql: Promise<Sql>,
    readonly read: ConsistentRead<unknown>,
  ) {}

  /** Sets up knowing `planned`'s membership at the insertion point. */
  membership(planned: PlannedGroup): void {
    const { definition } = planned;
    if (this.#memberships.has(definition.key)) return;
    if (definition.stateless) {
      const group = planned.group instanceof StatelessGroup
        ? planned.group
        : this.hub.stateless(definition);
      planned.group = group;
      this.#memberships.set(definition.key, { kind: "stateless", group });
      return;
    }
    let group = planned.group as GraphGroup | undefined ?? this.hub.runningGraph(definition.key);
    let capture: Promise<MembershipCapture>;
    if (group) {
      this.hub.keep(group);
      capture = group.capture(this.read);
    } else {
      const rows = this.rowsOf(definition, definition.roots);
      group = this.hub.startGraph(definition, sameSnapshot(this.read, rows));
      capture = group.started();
    }
    capture.catch(() => {});
    group.attach(this, this.read.base);
    planned.group = group;
    this.#memberships.set(definition.key, { kind: "graph", group, capture });
  }

  #consumed = Promise.withResolvers<void>();

  /** Resolves once the client took the streamed rows (or gave up on them). */
  get consumed(): Promise<void> {
    return this.#consumed.promise;
  }

  release(): void {
    for (const membership of this.#memberships.values()) {
      if (membership.kind === "graph") membership.group.detach(this);
    }
    this.#consumed.resolve();
  }

  /** Every graph membership involved is known and stored. */
  async durable(): Promise<void> {
    for (const [key, membership] of this.#memberships) {
      if (membership.kind !== "graph") continue;
      const capture = await membership.capture;
      this.#keys.set(key, capture.keys);
      await capture.durable;
    }
  }

  rowsOf(definition: GroupDefinition, roots: readonly LayerPlan[]): Promise<ShapeRow[]> {
    const id = `${definition.key}\u0000${roots.map(requestKey).join("\u0000")}`;
    let rows = this.#rows.get(id);
    if (!rows) {
      rows = this.sql.then((sql) => fetchGroupRows(sql, definition, roots));
      rows.catch(() => {});
      this.#rows.set(id, rows);
    }
    return rows;
  }

  /** Whether one of `groups` holds `row` at the insertion point. */
  #heldBy(groups: PlannedGroup[], row: ShapeRow, key: RowKey): boolean {
    for (const planned of groups) {
      if (!planned.definition.tables.has(`${row.schema}.${row.table}`)) continue;
      const membership = this.#memberships.get(planned.definition.key)!;
      if (membership.kind === "stateless") {
        if (membership.group.filter.holds(row.schema, row.table, row.record)) return true;
      } else if (this.#keys.get(planned.definition.key)!.has(key)) return true;
    }
    return false;
  }

  /** The rows of `planned` at the insertion point, with their data. */
  async #members(planned: PlannedGroup, roots?: readonly LayerPlan[]): Promise<ShapeRow[]> {
    const { definition } = planned;
    if (definition.stateless) return await this.rowsOf(definition, roots ?? definition.roots);
    const keys = this.#keys.get(definition.key)!;
    const rows = await this.rowsOf(definition, definition.roots);
    const tables = tablesOf(definition);
    return rows.filter((row) => keys.has(keyOfRow(tables, row)));
  }

  /** Rows the appearing groups hold that the leaving ones did not. */
  async arriving(
    appearing: PlannedGroup[],
    leaving: PlannedGroup[],
  ): Promise<{ inserts: ShapeRow[]; streams: RowStream[] }> {
    const out: ShapeRow[] = [];
    const streams: RowStream[] = [];
    // Rows of a request the client already had in a leaving group are held already.
    const had = new Set(leaving.flatMap((g) => g.definition.roots.map(requestKey)));
    for (const planned of appearing) {
      const roots = planned.definition.stateless
        ? planned.definition.roots.filter((root) => !had.has(requestKey(root)))
        : undefined;
      const tables = tablesOf(planned.definition);
      const fresh = !leaving.some((g) => overlaps(g.definition, planned.definition));
      if (fresh && planned.definition.stateless && roots!.length === 1) {
        // Nothing of it is held yet: its rows go out as Postgres produces them.
        const sql = await this.sql;
        for (const root of roots!) {
          streams.push({
            table: root.table,
            batches: streamLayerRows(sql, root, { userId: planned.definition.owner ?? "" }),
          });
        }
        continue;
      }
      for (const row of await this.#members(planned, roots)) {
        if (fresh || !this.#heldBy(leaving, row, keyOfRow(tables, row))) out.push(row);
      }
    }
    return { inserts: out, streams };
  }

  /** Rows the leaving groups held that no appearing group holds. */
  async departing(leaving: PlannedGroup[], appearing: PlannedGroup[]): Promise<GoneRow[]> {
    const out: GoneRow[] = [];
    const seen = new Set<RowKey>();
    const kept = new Set(appearing.flatMap((g) => g.definition.roots.map(requestKey)));
    for (const planned of leaving) {
      const { definition } = planned;
      const tables = tablesOf(definition);
      const needRecords = definition.stateless ||
        appearing.some((g) => g.definition.stateless && overlaps(g.definition, definition));
      if (needRecords) {
        const roots = definition.stateless
          ? definition.roots.filter((root) => !kept.has(requestKey(root)))
          : undefined;
        for (const row of await this.#members(planned, roots)) {
          const key = keyOfRow(tables, row);
          if (seen.has(key) || this.#heldBy(appearing, row, key)) continue;
          seen.add(key);
          out.push({ table: tables.get(`${row.schema}.${row.table}`)!, record: row.record });
        }
        continue;
      }
      for (const key of this.#keys.get(definition.key) ?? []) {
        if (seen.has(key)) continue;
        if (appearing.some((other) => this.#keys.get(other.definition.key)?.has(key))) continue;
        seen.add(key);
        const table = tableOfKey(tables, key);
        if (table) out.push({ table, record: keyRecord(table, key) });
      }
    }
    return out;
  }

  /** A resumed client's rows of rejoined graph groups: what to refresh and what to drop. */
  async rejoin(appearing: PlannedGroup[], input: RejoinInput): Promise<TransitionData> {
    const inserts: ShapeRow[] = [];
    const gones: GoneRow[] = [];
    const changedKeys = await input.changedKeys;
    for (const planned of appearing) {
      const membership = this.#memberships.get(planned.definition.key);
      if (membership?.kind !== "graph") continue;
      const keys = this.#keys.get(planned.definition.key)!;
      const tables = tablesOf(planned.definition);
      const log = await membership.group.membershipLog();
      const changed = await log.changedAfter(input.position);
      const refresh = new Set<RowKey>();
      for (const key of changed.added) if (keys.has(key)) refresh.add(key);
      for (const key of changedKeys) if (keys.has(key)) refresh.add(key);
      if (refresh.size > 0) {
        const rows = await this.rowsOf(planned.definition, planned.definition.roots);
        for (const row of rows) if (refresh.has(keyOfRow(tables, row))) inserts.push(row);
      }
      for (const key of changed.removed) {
        if (keys.has(key)) continue;
        const table = tableOfKey(tables, key);
        if (table) gones.push({ table, record: keyRecord(table, key) });
      }
    }
    return { inserts, gones, streams: [] };
  }
}

function overlaps(a: GroupDefinition, b: GroupDefinition): boolean {
  for (const table of a.tables) if (b.tables.has(table)) return true;
  return false;
}

const tableMaps = new WeakMap<GroupDefinition, Map<string, LayerPlan["table"]>>();

/** `schema.table` → model, for every layer of the group. */
function tablesOf(definition: GroupDefinition): Map<string, LayerPlan["table"]> {
  let out = tableMaps.get(definition);
  if (out) return out;
  out = new Map();
  const visit = (layer: LayerPlan) => {
    out!.set(tableKey(layer.table), layer.table);
    layer.children.forEach(visit);
  };
  definition.roots.forEach(visit);
  tableMaps.set(definition, out);
  return out;
}

function keyOfRow(tables: Map<string, LayerPlan["table"]>, row: ShapeRow): RowKey {
  return primaryKeyKey(tables.get(`${row.schema}.${row.table}`)!, row.record);
}

function tableOfKey(
  tables: Map<string, LayerPlan["table"]>,
  key: RowKey,
): LayerPlan["table"] | undefined {
  for (const table of tables.values()) if (isKeyOf(table, key)) return table;
  return undefined;
}
