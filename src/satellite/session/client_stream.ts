/**
 * The server → client stream of one connection (satellite-protocol.md §3.4, §3.7, §4, §7):
 * migrations, relations, and each transaction as the client's shape groups see it, plus the
 * out-of-band units — subscription data, GONE batches, additional (move-in) data, and the
 * refresh of a resumed client — each at its insertion point. The client holds nothing here
 * per row: what it receives of a transaction comes from its groups (src/sync), shared with
 * every other client holding them, encoded once (frames_out.ts).
 *
 * The flow lives here (pull and live paths, the ack window, units at their insertion points,
 * group switches); what goes into a transaction's frames is tx_writer.ts, the units' frames
 * unit_frames.ts.
 *
 * Output discipline: everything asynchronous (a transition's data, a group's step, the ack
 * window, the migration catalog) is awaited first; the frames of one unit are then written in
 * one synchronous run, so units never interleave.
 */
import type { MigrationEntry, SchemaCatalog } from "../../migrations/mod.ts";
import { capturedStatements } from "../../migrations/mod.ts";
import type { Transaction, TransactionLog } from "../../replication/mod.ts";
import type { SchemaModel } from "../../schema/mod.ts";
import { primaryKeyKey, type RowKey } from "../../shapes/mod.ts";
import { ORIGIN } from "../../storage/mod.ts";
import {
  GraphGroup,
  type PlannedGroup,
  type StatelessGroup,
  type Transition,
} from "../../sync/mod.ts";
import { type Logger, Progress } from "../../telemetry/mod.ts";
import type { SharedFrames } from "./frames_out.ts";
import type { Phase, SatelliteMetrics } from "./metrics.ts";
import { type StepOf, TransactionWriter } from "./tx_writer.ts";
import {
  goneBatchUnit,
  refreshTransaction,
  sendSubscriptionData,
  type UnitOutput,
} from "./unit_frames.ts";

/** Transactions the client may hold unacknowledged; advertised in startReplication. */
export const UNACKED_WINDOW = 30;
/** How long a transaction waits for the migration consumer to catch up with it. */
const MIGRATION_WAIT_MS = 10_000;
/** WAL a client may fall behind by, having received nothing, before it gets an empty transaction. */
const KEEPALIVE_WAL_BYTES = 4n * 1024n * 1024n;
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
  /** Sends a frame of subscription data (counted as the `initial` phase); default `send`. */
  sendInitial?: (frame: Uint8Array) => void;
  /** Rows, transactions and lag are counted here. */
  metrics: SatelliteMetrics;
  /** Resolves once no more than `bytes` wait to be written to the client. */
  drained: (bytes: number) => Promise<void>;
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
  | { kind: "rejoin"; transition: Transition; changed: (keys: Set<RowKey>) => void }
  /** The user's access changed: rows that became readable come in, the others go. */
  | { kind: "refresh"; transition: Transition };

export class ClientStream {
  #o: ClientStreamOptions;
  #writer: TransactionWriter;
  #groups: PlannedGroup[];
  /** Transactions sent and not acknowledged yet, oldest first (ids and positions). */
  #unackedIds: bigint[] = [];
  #unackedLsns: bigint[] = [];
  #lastSentLsn: bigint;
  #position: bigint;
  #units: Unit[] = [];
  /** Keys changed since the resume position, for rejoining graph groups' tables. */
  #changed: { tables: Set<string>; keys: Set<RowKey> } | undefined;
  /** Waiting for the ack window (created when first needed: most clients never wait). */
  #wake: Set<() => void> | undefined;
  #nextSynthetic = SYNTHETIC_XID_BASE;
  #stopped = false;
  /** Stops the pull loop's wait on the log; only while pulling. */
  #pulling: AbortController | undefined;

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
    this.#writer = new TransactionWriter(options, start);
    this.#groups = [];
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
    this.#stopped = true;
    this.#pulling?.abort();
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
      const sent = this.#writer.write({
        header: {
          commitTimestampMs: BigInt(Date.now()),
          lsn: this.#lastSentLsn,
          origin: ORIGIN,
          transactionId: entry.txid,
        },
        migrations: [entry],
        steps: [],
      });
      if (sent) this.#sent(sent);
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
    // Caught up already (an idle client): no loop, no wait per client.
    if (this.#o.log.endLsn() === this.#position && this.#canGoLive()) {
      this.#goLive();
      return;
    }
    const pulling = new AbortController();
    this.#pulling = pulling;
    const signal = pulling.signal;
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
        this.#o.metrics.handedOver(tx);
        if (this.#o.log.lastLsn() === tx.lsn && this.#canGoLive()) {
          this.#goLive();
          return;
        }
      }
    } catch (error) {
      if (!signal.aborted) {
        this.#o.fail("internal", `Replication to the client failed: ${(error as Error).message}`);
      }
    } finally {
      if (this.#pulling === pulling) this.#pulling = undefined;
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
    return this.#units.length === 0 && this.#allStateless && !this.#stopped;
  }

  /** Whether every group of the client is stateless (set when groups change). */
  #allStateless = true;

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
    const pushable = this.#canGoLive() && this.#unackedIds.length < UNACKED_WINDOW &&
      capturedStatements(tx).length === 0;
    if (!pushable) {
      this.#stopLive();
      if (!this.#stopped) void this.#pull();
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
      this.#o.metrics.handedOver(tx);
    } catch (error) {
      this.#stopLive();
      this.#o.fail("internal", `Replication to the client failed: ${(error as Error).message}`);
    }
  }

  /** Handles an acknowledgement; false when it names a transaction never sent. */
  ack(transactionId: bigint): boolean {
    if (transactionId === 0n) return true;
    const ids = this.#unackedIds;
    let index = 0;
    while (index < ids.length && ids[index] !== transactionId) index++;
    if (index === ids.length) return false;
    const lsn = this.#unackedLsns[index];
    ids.splice(0, index + 1);
    this.#unackedLsns.splice(0, index + 1);
    this.#o.acknowledged(lsn);
    this.#notify();
    return true;
  }

  async #waitForWindow(): Promise<void> {
    while (this.#unackedIds.length >= UNACKED_WINDOW && !this.#stopped) {
      await new Promise<void>((resolve) => (this.#wake ??= new Set()).add(resolve));
    }
  }

  #notify(): void {
    if (!this.#wake || this.#wake.size === 0) return;
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
        if (this.#stopped) return;
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
        this.stop();
        return;
      }
      throw error;
    }
    if (this.#stopped) return;
    this.#switchGroups(unit.transition.to);
    if (unit.kind !== "subscribe") unit.transition.release();
    // Subscription data and refreshes come from snapshot reads: the initial phase.
    const out = this.#unitOutput(unit.kind === "unsubscribe" ? "live" : "initial");
    if (unit.kind === "subscribe") {
      try {
        // Big initial syncs say how far they got (rows read as they are sent).
        const progress = data.streams.length === 0 ? undefined : new Progress(
          this.#o.logger,
          `Initial sync of subscription ${unit.subscription.id}`,
          "rows",
        );
        await sendSubscriptionData(out, unit.subscription, data, progress);
      } finally {
        // Lets go of the snapshot the rows were read in.
        unit.transition.release();
      }
    } else if (unit.kind === "unsubscribe") {
      for (const frame of goneBatchUnit(out, unit.subscriptionIds, data)) this.#o.send(frame);
    } else {
      const refresh = refreshTransaction(out, data, this.#nextSynthetic++);
      if (!refresh) return;
      for (const frame of refresh.frames) out.send(frame);
      this.#sent({ id: refresh.header.transactionId, lsn: refresh.header.lsn });
    }
  }

  #unitOutput(phase: Phase): UnitOutput {
    return {
      frames: this.#o.frames,
      lookup: this.#writer.lookup,
      lastSentLsn: this.#lastSentLsn,
      relationFrames: (tables, into) => this.#writer.relationFrames(tables, into),
      send: phase === "initial" ? (this.#o.sendInitial ?? this.#o.send) : this.#o.send,
      rows: this.#o.metrics.rowsSent[phase],
      drained: this.#o.drained,
      aborted: () => this.#stopped,
    };
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
    this.#allStateless = groups.every((g) => g.definition.stateless);
    this.#writer.groupsChanged(groups);
  }

  /** While a rejoin is pending: the keys of its groups' rows this transaction changed. */
  #noteChanged(tx: Transaction): void {
    const changed = this.#changed;
    if (!changed) return;
    for (const change of tx.changes) {
      if (change.kind === "truncate") continue;
      const name = `${change.relation.schema}.${change.relation.table}`;
      if (!changed.tables.has(name)) continue;
      const table = this.#writer.lookup(change.relation.schema, change.relation.table);
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
      if (this.#writer.lacks(entry.version)) migrations.push(entry);
    }
    const steps: StepOf[] = [];
    for (const planned of this.#groups) {
      const group = planned.group!;
      const step = group instanceof GraphGroup ? await group.step(tx) : group.step(tx);
      if (step.changes.length > 0 || step.additional.length > 0 || step.movesIn) {
        steps.push({ planned, step });
      }
    }
    if (this.#stopped) return;
    this.#emit(tx, migrations, steps);
  }

  /** Writes what the client gets of `tx`: additional data first, then the transaction. */
  #emit(tx: Transaction, migrations: MigrationEntry[], steps: StepOf[]): void {
    // The client's own writes always come back; and a client whose shapes see nothing for a
    // long stretch of WAL still gets an empty transaction now and then, so the position it
    // would resume from stays recent (a resume never has to read back through all of it).
    const force = tx.origin === this.#o.clientId ||
      (steps.length === 0 && tx.lsn - this.#lastSentLsn >= KEEPALIVE_WAL_BYTES);
    if (migrations.length === 0 && steps.every(plainStep)) {
      if (this.#writer.writeChanges(tx, steps, force)) {
        this.#o.metrics.transactionsSent.inc();
        this.#unackedIds.push(transactionIdOf(tx));
        this.#unackedLsns.push(tx.lsn);
        if (tx.lsn > this.#lastSentLsn) this.#lastSentLsn = tx.lsn;
      }
      return;
    }
    const sent = this.#writer.write({
      header: {
        commitTimestampMs: BigInt(tx.commitTimestamp.getTime()),
        lsn: tx.lsn,
        origin: tx.origin,
        transactionId: BigInt(tx.xid),
      },
      migrations,
      steps,
      tx,
      force,
    });
    if (sent) this.#sent(sent);
  }

  #sent(tx: { id: bigint; lsn: bigint }): void {
    this.#o.metrics.transactionsSent.inc();
    this.#unackedIds.push(tx.id);
    this.#unackedLsns.push(tx.lsn);
    if (tx.lsn > this.#lastSentLsn) this.#lastSentLsn = tx.lsn;
  }
}

/** A step with nothing but row changes (no move-in, no additional data). */
function plainStep({ step }: StepOf): boolean {
  return !step.movesIn && step.additional.length === 0;
}

const transactionIds = new WeakMap<Transaction, bigint>();

/** The transaction id clients acknowledge, made once per transaction (not per client). */
function transactionIdOf(tx: Transaction): bigint {
  let id = transactionIds.get(tx);
  if (id === undefined) {
    id = BigInt(tx.xid);
    transactionIds.set(tx, id);
  }
  return id;
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
