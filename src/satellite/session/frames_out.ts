/**
 * Server → client frames built from shared data: a group step's ops are encoded once per schema
 * model and the bytes reused for every client holding the group; a transaction's whole frame is
 * reused between clients holding the same groups when nothing in it is theirs alone (no
 * migration, no move-in reference). Also the frames of the out-of-band units: subscription
 * data, GONE batches, additional data, and the transaction that refreshes a resumed client.
 * Pure apart from the caches.
 */
import { create, toBinary } from "@bufbuild/protobuf";
import {
  SatOpLogSchema,
  SatShapeDataBeginSchema,
  SatShapeDataEndSchema,
  SatSubsDataBeginSchema,
  SatSubsDataEndSchema,
  SatUnsubsDataBeginSchema,
  SatUnsubsDataEndSchema,
} from "../../gen/mod.ts";
import { type MigrationEntry, toSatOpMigrate } from "../../migrations/mod.ts";
import type { Transaction } from "../../replication/mod.ts";
import type { TableModel } from "../../schema/mod.ts";
import {
  type OutChange,
  type RawRowBatch,
  rawTagsReader,
  type ShapeRow,
} from "../../shapes/mod.ts";
import type { AdditionalBlock, GoneRow, GroupStep } from "../../sync/mod.ts";
import { encodeFrame } from "../codec/mod.ts";
import { OpEncoder, opLogFrameFromEntries, opLogFramesFromEntries } from "../serialization/mod.ts";
import { lsnToBytes, type TransactionHeader, type TransOp } from "./wire.ts";

/** Rows per SatOpLog inside subscription, move-in and GONE data. */
export const ROWS_PER_FRAME = 500;
/** Transactions whose whole frames are kept for other clients. */
const RECENT_FRAMES = 256;

/** Looks a table up in the model the client is on (undefined: the client has no such table). */
export type TableLookup = (schema: string, table: string) => TableModel | undefined;

interface Encoded {
  lookup: unknown;
  entries: Uint8Array[];
  tables: TableModel[];
}

/**
 * One per service: the encoders and the caches of bytes shared between clients. Entries are
 * views into blocks their encoder allocates, and a kept entry keeps its block: cached entries
 * come from an encoder of their own so that short-lived data (subscription rows, frame
 * headers) never shares a block with them.
 */
export class SharedFrames {
  readonly encoder = new OpEncoder();
  readonly #cached = new OpEncoder();
  readonly #steps = new WeakMap<object, Encoded>();
  readonly #migrations = new WeakMap<
    MigrationEntry,
    Partial<Record<"sqlite" | "postgresql", Uint8Array[]>>
  >();
  /**
   * Whole frames of the most recent transactions, by client key. Clients share a frame when
   * they handle the transaction at about the same time; keeping frames as long as the
   * transaction cache keeps transactions would cost memory for every distinct key.
   */
  readonly #frames = new Map<Transaction, Map<number, Uint8Array>>();

  /**
   * The op entries of `changes` (a step, or additional data) for clients on `model`; encoded
   * once per owner object and model. `model` identifies the lookup (the schema model object).
   */
  entries(
    owner: object,
    changes: readonly OutChange[],
    model: unknown,
    lookup: TableLookup,
  ): Encoded {
    const known = this.#steps.get(owner);
    if (known && known.lookup === model) return known;
    const entries: Uint8Array[] = [];
    const tables = new Set<TableModel>();
    for (const change of changes) {
      const table = lookup(change.schema, change.table);
      if (!table) continue;
      tables.add(table);
      entries.push(changeEntry(this.#cached, table, change));
    }
    const encoded = { lookup: model, entries, tables: [...tables] };
    this.#steps.set(owner, encoded);
    return encoded;
  }

  /** The migrate ops of a migration in a dialect, built once (every fresh client gets them). */
  migrationEntries(entry: MigrationEntry, dialect: "sqlite" | "postgresql"): Uint8Array[] {
    let built = this.#migrations.get(entry);
    if (!built) {
      built = {};
      this.#migrations.set(entry, built);
    }
    return built[dialect] ??= entry.ops[dialect].map((op) =>
      protoEntry({ op: { case: "migrate", value: toSatOpMigrate(op) } })
    );
  }

  /** Inserts for rows (subscription data, additional data), not cached. */
  insertEntries(rows: readonly ShapeRow[], lookup: TableLookup): Encoded {
    const entries: Uint8Array[] = [];
    const tables = new Set<TableModel>();
    for (const row of rows) {
      const table = lookup(row.schema, row.table);
      if (!table) continue;
      tables.add(table);
      entries.push(this.encoder.insert(table, { values: row.record, tags: row.tags }));
    }
    return { lookup: undefined, entries, tables: [...tables] };
  }

  /**
   * Frames of inserts for raw query rows (see `streamLayerRows`), read with the columns of
   * `queried`, for a client whose model of the table is `client`: straight from the rows when
   * the two agree on the columns, else through a record per row.
   */
  rawInsertFrames(client: TableModel, queried: TableModel, batch: RawRowBatch): Uint8Array[] {
    const tagsOf = this.#rawTags;
    const { rows, tagsAt } = batch;
    const same = sameColumns(client, queried);
    return this.encoder.insertFrames(client, rows.length, {
      values: same ? (i) => rows[i] : (i) => {
        const record: Record<string, string | null> = {};
        queried.columns.forEach((column, c) => record[column.name] = rows[i][c]);
        return record;
      },
      tags: (i) => tagsOf(rows[i][tagsAt]),
    }, ROWS_PER_FRAME);
  }

  readonly #rawTags = rawTagsReader();

  goneEntries(rows: readonly GoneRow[], lookup: TableLookup): Encoded {
    const entries: Uint8Array[] = [];
    const tables = new Set<TableModel>();
    for (const row of rows) {
      const table = lookup(row.table.schema, row.table.name);
      if (!table) continue;
      tables.add(table);
      entries.push(this.encoder.gone(table, row.record));
    }
    return { lookup: undefined, entries, tables: [...tables] };
  }

  /** A cached whole transaction frame for clients with the same `signature`, if any. */
  cachedFrame(tx: Transaction, signature: number): Uint8Array | undefined {
    return this.#frames.get(tx)?.get(signature);
  }

  cacheFrame(tx: Transaction, signature: number, frame: Uint8Array): void {
    let frames = this.#frames.get(tx);
    if (!frames) {
      frames = new Map();
      this.#frames.set(tx, frames);
      // Maps iterate in insertion order: the first key is the oldest transaction.
      if (this.#frames.size > RECENT_FRAMES) {
        this.#frames.delete(this.#frames.keys().next().value!);
      }
    }
    frames.set(signature, frame);
  }

  /** The SatOpLog frame of one transaction: begin, `body` entries, commit. */
  transactionFrame(header: TransactionHeader, body: readonly Uint8Array[]): Uint8Array {
    return opLogFrameFromEntries([
      this.encoder.begin(header),
      ...body,
      this.encoder.commit(header),
    ]);
  }

  /** Frames of an additional-data block (move-in rows) under `ref`. */
  additionalFrames(ref: bigint, entries: readonly Uint8Array[]): Uint8Array[] {
    const all = [this.encoder.additionalBegin(ref), ...entries, this.encoder.additionalCommit(ref)];
    return opLogFramesFromEntries(all, ROWS_PER_FRAME + 2);
  }
}

function changeEntry(encoder: OpEncoder, table: TableModel, change: OutChange): Uint8Array {
  switch (change.kind) {
    case "insert":
      return encoder.insert(table, { values: change.record, tags: change.tags });
    case "update":
      return encoder.update(table, {
        values: change.record,
        oldValues: change.oldRecord,
        tags: change.tags,
      });
    case "delete":
      return encoder.delete(table, change.record);
    default:
      return encoder.gone(table, change.record);
  }
}

function sameColumns(a: TableModel, b: TableModel): boolean {
  if (a === b) return true;
  return a.columns.length === b.columns.length &&
    a.columns.every((column, i) => column.name === b.columns[i].name);
}

/** The `ops` entry of a protobuf-built op (migrations: rare, built the slow way). */
export function protoEntry(op: TransOp): Uint8Array {
  return toBinary(SatOpLogSchema, create(SatOpLogSchema, { ops: [op] }));
}

/** Subscription data (satellite-protocol.md §7.3): every row in the first request's pair. */
export function subscriptionDataFrames(
  subscription: { id: string; requestIds: readonly string[] },
  lsn: bigint,
  entries: readonly Uint8Array[],
): Uint8Array[] {
  const frames = [
    encodeFrame(create(SatSubsDataBeginSchema, {
      subscriptionId: subscription.id,
      lsn: lsnToBytes(lsn),
    })),
  ];
  subscription.requestIds.forEach((requestId, i) => {
    frames.push(encodeFrame(create(SatShapeDataBeginSchema, { requestId })));
    if (i === 0) frames.push(...opLogFramesFromEntries(entries, ROWS_PER_FRAME));
    frames.push(encodeFrame(create(SatShapeDataEndSchema, {})));
  });
  frames.push(encodeFrame(create(SatSubsDataEndSchema, {})));
  return frames;
}

/** A GONE batch (§7.6). */
export function goneBatchFrames(
  subscriptionIds: readonly string[],
  lsn: bigint,
  entries: readonly Uint8Array[],
): Uint8Array[] {
  return [
    encodeFrame(create(SatUnsubsDataBeginSchema, {
      subscriptionIds: [...subscriptionIds],
      lsn: lsnToBytes(lsn),
    })),
    ...opLogFramesFromEntries(entries, ROWS_PER_FRAME),
    encodeFrame(create(SatUnsubsDataEndSchema, {})),
  ];
}

export type { AdditionalBlock, GroupStep };
