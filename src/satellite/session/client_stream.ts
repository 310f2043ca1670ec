/**
 * The server → client stream of one connection (satellite-protocol.md §3.4, §3.7, §4, §7):
 * migrations, relations, and each transaction as the client's shape groups see it, plus the
 * out-of-band units — subscription data, GONE batches, additional (move-in) data, and the
 * refresh of a resumed client — each at its insertion point. The client holds nothing here
 * per row: what it receives of a transaction comes from its groups (src/sync), shared with
 * every other client holding them, encoded once (frames_out.ts).
 *
 * Output discipline: everything asynchronous (a transition's data, a group's step, the ack
 * window, the migration catalog) is awaited first; the frames of one unit are then written in
 * one synchronous run, so units never interleave.
 */
import type { MigrationEntry, SchemaCatalog } from "../../migrations/mod.ts";
import { capturedStatements, toSatOpMigrate } from "../../migrations/mod.ts";
import type { Transaction, TransactionLog } from "../../replication/mod.ts";
import { findTable, type SchemaModel, type TableModel } from "../../schema/mod.ts";
import { primaryKeyKey, type RowKey } from "../../shapes/mod.ts";
import { ORIGIN } from "../../storage/mod.ts";
import {
  GraphGroup,
  type GroupStep,
  type PlannedGroup,
  type StatelessGroup,
  type Transition,
  type TransitionData,
} from "../../sync/mod.ts";
import type { Logger } from "../../telemetry/mod.ts";
import { encodeFrame } from "../codec/mod.ts";
import { relationFor } from "../serialization/mod.ts";
import { opLogFramesFromEntries } from "../serialization/mod.ts";
import {
  goneBatchFrames,
  protoEntry,
  ROWS_PER_FRAME,
  type SharedFrames,
  subscriptionDataFrames,
  type TableLookup,
} from "./frames_out.ts";
import type { TransactionHeader } from "./wire.ts";

/** Transactions the client may hold unacknowledged; advertised in startReplication. */
export const UNACKED_WINDOW = 30;
/** How long a transaction waits for the migration consumer to catch up with it. */
const MIGRATION_WAIT_MS = 10_000;
/** Transaction ids of refresh transactions: far above any 32-bit Postgres xid. */
const SYNTHETIC_XID_BASE = 1n << 62n;

export interface ClientStreamOptions {
  clientId: string;
  dialect: "sqlite" | "postgresql";
  log: TransactionLog;
  catalog: SchemaCatalog;
  frames: SharedFrames;
  logger: Logger;
  send: (frame: Uint8Array) => void;
  /** Ends the connection with a top-level error (the client reconnects). */
  fail: (reason: "behind_window" | "internal", message: string) => void;
  /** A subscription's data could not be produced (SatSubsDataError, §7.4). */
  subscriptionFailed: (subscriptionId: string, error: Error) => void;
  /** The client acknowledged everything up to `lsn`. */
  acknowledged: (lsn: bigint) => void;
}

/** An out-of-band unit waiting for its insertion point. */
export type Unit =
  | {
    kind: "subscribe";
    subscription: { id: string; requestIds: string[] };
    transition: Transition;
  }
  | { kind: "unsubscribe"; subscriptionIds: string[]; transition: Transition }
  | { kind: "rejoin"; transition: Transition; changed: (keys: Set<RowKey>) => void };

/** A group's step of one transaction. */
type StepOf = { planned: PlannedGroup; step: GroupStep };

interface Unacked {
  id: bigint;
  lsn: bigint;
}

export class ClientStream {
  #o: ClientStreamOptions;
  #model: SchemaModel;
  #groups: PlannedGroup[];
  #signature: string;
  #relations = new Map<string, string>();
  #announced = new Map<string, TableModel>();
  #sentVersions = new Set<string>();
  #unacked: Unacked[] = [];
  #lastSentLsn: bigint;
  #position: bigint;
  #units: Unit[] = [];
  /** Keys changed since the resume position, for rejoining graph groups' tables. */
  #changed: { tables: Set<string>; keys: Set<RowKey> } | undefined;
  #wake = new Set<() => void>();
  #nextRef = 1n;
  #nextSynthetic = SYNTHETIC_XID_BASE;
  #refs = new Map<string, bigint>();
  #stop = new AbortController();

  /**
   * `groups`: active from `start.lsn` on (a resumed client's stateless groups; graph groups
   * come back through a rejoin unit). `known`: migration versions the client already has.
   */
  constructor(
    options: ClientStreamOptions,
    start: { lsn: bigint; model: SchemaModel; known: Iterable<string>; groups: PlannedGroup[] },
  ) {
    this.#o = options;
    this.#lastSentLsn = start.lsn;
    this.#position = start.lsn;
    this.#model = start.model;
    for (const version of start.known) this.#sentVersions.add(version);
    this.#groups = [];
    this.#signature = "";
    this.#switchGroups(start.groups);
  }

  get lastSentLsn(): bigint {
    return this.#lastSentLsn;
  }

  /** The stream position: every transaction up to here has been handled. */
  get position(): bigint {
    return this.#position;
  }

  get groups(): readonly PlannedGroup[] {
    return this.#groups;
  }

  stop(): void {
    this.#stop.abort();
    this.#stopLive();
    for (const planned of this.#groups) {
      if (planned.group instanceof GraphGroup) planned.group.detach(this);
    }
    for (const unit of this.#units.splice(0)) unit.transition.release();
    this.#notify();
  }

  /** Queues an out-of-band unit; units are delivered in the order they are queued. */
  enqueue(unit: Unit): void {
    if (unit.kind === "rejoin") {
      const tables = new Set<string>();
      for (const planned of unit.transition.to) {
        if (planned.definition.stateless) continue;
        for (const table of planned.definition.tables) tables.add(table);
      }
      this.#changed = { tables, keys: new Set() };
    }
    this.#units.push(unit);
    // Units are delivered at insertion points the live path does not look for.
    if (this.#leaveLive) {
      this.#stopLive();
      void this.#pull();
    }
  }

  /** Sends the migrations a fresh client lacks, one transaction each, all at the start. */
  sendInitialMigrations(entries: readonly MigrationEntry[]): void {
    for (const entry of entries) {
      this.#sentVersions.add(entry.version);
      this.#sendTransaction({
        header: {
          commitTimestampMs: BigInt(Date.now()),
          lsn: this.#lastSentLsn,
          origin: "postgres_1",
          transactionId: entry.txid,
          isMigration: true,
        },
        migrations: [entry],
        steps: [],
      });
    }
  }

  /** Streams every transaction after the start position until stopped. */
  run(): Promise<void> {
    return this.#pull();
  }

  /**
   * The general path: reads the log from the stream position at the client's pace, waiting
   * for whatever a transaction needs. Once caught up with nothing pending it hands over to
   * the live path and returns.
   */
  async #pull(): Promise<void> {
    const signal = this.#stop.signal;
    try {
      for await (const event of this.#o.log.follow(this.#position, signal)) {
        if (signal.aborted) return;
        if (event.kind === "behind_window") {
          this.#o.fail("behind_window", "The client fell behind the server's transaction cache");
          return;
        }
        const tx = event.transaction;
        await this.#deliverDue(tx);
        if (signal.aborted) return;
        this.#noteChanged(tx);
        await this.#waitForWindow();
        if (signal.aborted) return;
        await this.#transaction(tx);
        this.#advance(tx.lsn);
        if (this.#o.log.lastLsn() === tx.lsn && this.#canGoLive()) {
          this.#goLive();
          return;
        }
      }
    } catch (error) {
      if (!signal.aborted) {
        this.#o.fail("internal", `Replication to the client failed: ${(error as Error).message}`);
      }
    }
  }

  #advance(lsn: bigint): void {
    this.#position = lsn;
    for (const planned of this.#groups) {
      if (planned.group instanceof GraphGroup) planned.group.advance(this, lsn);
    }
  }

  /**
   * The live path: a caught-up client whose groups are all stateless gets each transaction
   * as the log appends it, synchronously — no promise, no wake-up per client. Anything that
   * needs waiting (a unit, a full window, a migration, a graph group) goes back to pulling.
   */
  #canGoLive(): boolean {
    return this.#units.length === 0 && !this.#stop.signal.aborted &&
      this.#groups.every((g) => g.definition.stateless);
  }

  #goLive(): void {
    this.#leaveLive = this.#o.log.subscribe((tx) => this.#onAppend(tx));
  }

  #leaveLive: (() => void) | undefined;

  #stopLive(): void {
    this.#leaveLive?.();
    this.#leaveLive = undefined;
  }

  #onAppend(tx: Transaction): void {
    if (tx.lsn <= this.#position) return;
    const pushable = this.#canGoLive() && this.#unacked.length < UNACKED_WINDOW &&
      capturedStatements(tx).length === 0;
    if (!pushable) {
      this.#stopLive();
      if (!this.#stop.signal.aborted) void this.#pull();
      return;
    }
    try {
      const steps: StepOf[] = [];
      for (const planned of this.#groups) {
        const step = (planned.group as StatelessGroup).step(tx);
        if (step.changes.length > 0) steps.push({ planned, step });
      }
      this.#emit(tx, [], steps);
      this.#advance(tx.lsn);
    } catch (error) {
      this.#stopLive();
      this.#o.fail("internal", `Replication to the client failed: ${(error as Error).message}`);
    }
  }

  /** Handles an acknowledgement; false when it names a transaction never sent. */
  ack(transactionId: bigint): boolean {
    if (transactionId === 0n) return true;
    const index = this.#unacked.findIndex((u) => u.id === transactionId);
    if (index === -1) return false;
    const acked = this.#unacked[index];
    this.#unacked.splice(0, index + 1);
    this.#o.acknowledged(acked.lsn);
    this.#notify();
    return true;
  }

  async #waitForWindow(): Promise<void> {
    while (this.#unacked.length >= UNACKED_WINDOW && !this.#stop.signal.aborted) {
      await new Promise<void>((resolve) => this.#wake.add(resolve));
    }
  }

  #notify(): void {
    const waiters = [...this.#wake];
    this.#wake.clear();
    for (const wake of waiters) wake();
  }

  /** Delivers, in order, every unit whose insertion point `next` is. */
  async #deliverDue(next: Transaction): Promise<void> {
    while (this.#units.length > 0) {
      const unit = this.#units[0];
      const { read } = unit.transition;
      try {
        await read.info;
      } catch {
        // The read failed before its snapshot: handled with its data below.
      }
      if (read.isInsertionPoint(next) || !(await known(read.info))) {
        this.#units.shift();
        await this.#deliver(unit);
        if (this.#stop.signal.aborted) return;
        continue;
      }
      return;
    }
  }

  async #deliver(unit: Unit): Promise<void> {
    if (unit.kind === "rejoin") {
      unit.changed(this.#changed?.keys ?? new Set());
      this.#changed = undefined;
    }
    let data;
    try {
      data = await unit.transition.read.result;
    } catch (error) {
      unit.transition.release();
      if (unit.kind === "subscribe") {
        this.#o.subscriptionFailed(unit.subscription.id, error as Error);
        // The client resets after this; nothing else of it is worth sending.
        this.#stop.abort();
        return;
      }
      throw error;
    }
    if (this.#stop.signal.aborted) return;
    this.#switchGroups(unit.transition.to);
    if (unit.kind !== "subscribe") unit.transition.release();
    const lookup = this.#lookup;
    const frames: Uint8Array[] = [];
    if (unit.kind === "subscribe") {
      await this.#sendSubscriptionData(unit.subscription, data, unit.transition);
      return;
    } else if (unit.kind === "unsubscribe") {
      const encoded = this.#o.frames.goneEntries(data.gones, lookup);
      this.#relationFrames(encoded.tables, frames);
      frames.push(...goneBatchFrames(unit.subscriptionIds, this.#lastSentLsn, encoded.entries));
    } else {
      if (data.inserts.length === 0 && data.gones.length === 0) return;
      const inserts = this.#o.frames.insertEntries(data.inserts, lookup);
      const gones = this.#o.frames.goneEntries(data.gones, lookup);
      this.#relationFrames([...inserts.tables, ...gones.tables], frames);
      const header: TransactionHeader = {
        commitTimestampMs: BigInt(Date.now()),
        lsn: this.#lastSentLsn,
        origin: ORIGIN,
        transactionId: this.#nextSynthetic++,
        isMigration: false,
      };
      frames.push(
        this.#o.frames.transactionFrame(header, [...inserts.entries, ...gones.entries]),
      );
      this.#unacked.push({ id: header.transactionId, lsn: header.lsn });
    }
    for (const frame of frames) this.#o.send(frame);
  }

  /**
   * Subscription data (§7.3). Rows read while they are sent go out batch by batch; nothing
   * else is written meanwhile (the stream waits here), so the delivery stays one unit.
   */
  async #sendSubscriptionData(
    subscription: { id: string; requestIds: readonly string[] },
    data: TransitionData,
    transition: Transition,
  ): Promise<void> {
    const lookup = this.#lookup;
    try {
      const first = this.#o.frames.insertEntries(data.inserts, lookup);
      const frames: Uint8Array[] = [];
      const tables = [...first.tables];
      for (const stream of data.streams) {
        const table = lookup(stream.table.schema, stream.table.name);
        if (table) tables.push(table);
      }
      this.#relationFrames(tables, frames);
      const [begin, ...rest] = subscriptionDataFrames(subscription, this.#lastSentLsn, []);
      frames.push(begin, rest[0]);
      frames.push(...opLogFramesFromEntries(first.entries, ROWS_PER_FRAME));
      for (const frame of frames) this.#o.send(frame);
      for (const stream of data.streams) {
        for await (const batch of stream.batches) {
          if (this.#stop.signal.aborted) return;
          const encoded = this.#o.frames.insertEntries(batch, lookup);
          for (const frame of opLogFramesFromEntries(encoded.entries, ROWS_PER_FRAME)) {
            this.#o.send(frame);
          }
        }
      }
      // The rest: the first request's end, the other requests' empty pairs, the end.
      for (const frame of rest.slice(1)) this.#o.send(frame);
    } finally {
      // Lets go of the snapshot the rows were read in.
      transition.release();
    }
  }

  /** Makes `groups` the client's groups from the current position on. */
  #switchGroups(groups: PlannedGroup[]): void {
    const next = new Set(groups.map((g) => g.group));
    for (const planned of this.#groups) {
      if (planned.group instanceof GraphGroup && !next.has(planned.group)) {
        planned.group.detach(this);
      }
    }
    const previous = new Set(this.#groups.map((g) => g.group));
    for (const planned of groups) {
      if (planned.group instanceof GraphGroup && !previous.has(planned.group)) {
        planned.group.attach(this, this.#position);
      }
    }
    this.#groups = groups;
    this.#signature = groups.map((g) => g.definition.key).join("\u0001");
  }

  /** While a rejoin is pending: the keys of its groups' rows this transaction changed. */
  #noteChanged(tx: Transaction): void {
    const changed = this.#changed;
    if (!changed) return;
    for (const change of tx.changes) {
      if (change.kind === "truncate") continue;
      const name = `${change.relation.schema}.${change.relation.table}`;
      if (!changed.tables.has(name)) continue;
      const table = findTable(this.#model, change.relation.schema, change.relation.table) ??
        findTable(this.#o.catalog.current(), change.relation.schema, change.relation.table);
      if (!table) continue;
      if (change.record) changed.keys.add(primaryKeyKey(table, change.record));
      if (change.oldRecord) changed.keys.add(primaryKeyKey(table, change.oldRecord));
    }
    // Referenced rows are context, not changes: rows they bring in show up as membership changes.
  }

  async #transaction(tx: Transaction): Promise<void> {
    const migrations: MigrationEntry[] = [];
    for (const group of capturedStatements(tx)) {
      const entry = await this.#o.catalog.whenTxid(BigInt(group[0].txid), MIGRATION_WAIT_MS);
      if (!entry) {
        this.#o.logger.warning(
          `Migration of transaction ${group[0].txid} is not in the schema catalog; not sent.`,
        );
        continue;
      }
      if (!this.#sentVersions.has(entry.version)) migrations.push(entry);
    }
    const steps: StepOf[] = [];
    for (const planned of this.#groups) {
      const group = planned.group!;
      const step = group instanceof GraphGroup ? await group.step(tx) : group.step(tx);
      if (step.changes.length > 0 || step.additional.length > 0 || step.movesIn) {
        steps.push({ planned, step });
      }
    }
    if (this.#stop.signal.aborted) return;
    this.#emit(tx, migrations, steps);
  }

  /** Writes what the client gets of `tx`: additional data first, then the transaction. */
  #emit(tx: Transaction, migrations: MigrationEntry[], steps: StepOf[]): void {
    for (const entry of migrations) this.#sentVersions.add(entry.version);
    this.#sendAdditional(steps);
    const movesIn = steps.some((s) => s.step.movesIn);
    const ref = movesIn ? this.#nextRef++ : 0n;
    if (movesIn) {
      for (const { planned, step } of steps) {
        if (step.movesIn) this.#refs.set(`${planned.definition.key}@${tx.lsn}`, ref);
      }
    }
    this.#sendTransaction({
      header: {
        commitTimestampMs: BigInt(tx.commitTimestamp.getTime()),
        lsn: tx.lsn,
        origin: tx.origin,
        transactionId: BigInt(tx.xid),
        isMigration: migrations.length > 0,
        additionalDataRef: ref,
      },
      migrations,
      steps,
      tx,
      // The client's own writes always come back, even when nothing of them is in its shapes.
      force: tx.origin === this.#o.clientId,
    });
  }

  /** Move-in rows the client's graph groups applied before this transaction. */
  #sendAdditional(steps: StepOf[]): void {
    for (const { planned, step } of steps) {
      for (const block of step.additional) {
        const id = `${planned.definition.key}@${block.trigger}`;
        const ref = this.#refs.get(id) ?? this.#nextRef++;
        this.#refs.delete(id);
        const frames: Uint8Array[] = [];
        const encoded = this.#o.frames.entries(
          block,
          block.rows.map((row) => ({
            kind: "insert" as const,
            ...row,
          })),
          this.#model,
          this.#lookup,
        );
        this.#relationFrames(encoded.tables, frames);
        frames.push(...this.#o.frames.additionalFrames(ref, encoded.entries));
        for (const frame of frames) this.#o.send(frame);
      }
    }
  }

  /** Writes one transaction (relations first) unless it is empty and not forced. */
  #sendTransaction(input: {
    header: TransactionHeader;
    migrations: MigrationEntry[];
    steps: StepOf[];
    tx?: Transaction;
    force?: boolean;
  }): void {
    const frames: Uint8Array[] = [];
    const body: Uint8Array[] = [];
    for (const entry of input.migrations) {
      for (const op of entry.ops[this.#o.dialect]) {
        body.push(protoEntry({ op: { case: "migrate", value: toSatOpMigrate(op) } }));
      }
      this.#model = entry.model;
      // Tables this migration creates or alters are announced again, in their new layout.
      for (const op of entry.ops[this.#o.dialect]) {
        if (!op.table) continue;
        const table = findTable(entry.model, "public", op.table.name);
        if (!table) continue;
        this.#relations.delete(key(table));
        this.#announced.delete(key(table));
        this.#relationFrames([table], frames);
      }
    }
    for (const { step } of input.steps) {
      const encoded = this.#o.frames.entries(step, step.changes, this.#model, this.#lookup);
      this.#relationFrames(encoded.tables, frames);
      body.push(...encoded.entries);
    }
    if (body.length === 0 && !input.force) return;
    // The same bytes serve every client holding the same groups when nothing is its own.
    const shareable = input.tx !== undefined && input.migrations.length === 0 &&
      !input.header.additionalDataRef;
    const signature = this.#frameKey();
    let frame = shareable ? this.#o.frames.cachedFrame(input.tx!, signature) : undefined;
    if (!frame) {
      frame = this.#o.frames.transactionFrame(input.header, body);
      if (shareable) this.#o.frames.cacheFrame(input.tx!, signature, frame);
    }
    frames.push(frame);
    for (const f of frames) this.#o.send(f);
    this.#unacked.push({ id: input.header.transactionId, lsn: input.header.lsn });
    if (input.header.lsn > this.#lastSentLsn) this.#lastSentLsn = input.header.lsn;
  }

  #frameKeyOf: { model: SchemaModel; groups: string; key: string } | undefined;

  /** Clients with equal keys get equal bytes for a transaction (same groups, dialect, model). */
  #frameKey(): string {
    const known = this.#frameKeyOf;
    if (known && known.model === this.#model && known.groups === this.#signature) return known.key;
    const key = `${this.#signature}\u0002${this.#o.dialect}\u0002${modelId(this.#model)}`;
    this.#frameKeyOf = { model: this.#model, groups: this.#signature, key };
    return key;
  }

  #lookup: TableLookup = (schema, name) =>
    findTable(this.#model, schema, name) ?? findTable(this.#o.catalog.current(), schema, name);

  /** SatRelation frames for tables the client has not seen in this layout. */
  #relationFrames(tables: readonly TableModel[], frames: Uint8Array[]): void {
    for (const table of tables) {
      if (this.#announced.get(key(table)) === table) continue;
      const relation = relationFor(table, this.#model);
      const signature = JSON.stringify(
        relation.columns.map((c) => [c.name, c.type, c.primaryKey, c.isNullable]),
      );
      this.#announced.set(key(table), table);
      if (this.#relations.get(key(table)) === signature) continue;
      this.#relations.set(key(table), signature);
      frames.push(encodeFrame(relation));
    }
  }
}

const modelIds = new WeakMap<SchemaModel, number>();
let nextModelId = 1;

/** A small id per schema model object: frames encoded for one model differ from another's. */
function modelId(model: SchemaModel): number {
  let id = modelIds.get(model);
  if (id === undefined) {
    id = nextModelId++;
    modelIds.set(model, id);
  }
  return id;
}

function key(table: TableModel): string {
  return `${table.schema}.${table.name}`;
}

/** Whether a promise has resolved (false when it rejected). */
async function known(promise: Promise<unknown>): Promise<boolean> {
  try {
    await promise;
    return true;
  } catch {
    return false;
  }
}
