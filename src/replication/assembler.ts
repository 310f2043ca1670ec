/**
 * Pure transaction assembly: decoded pgoutput messages in, finished transactions out. Keeps
 * the relation cache and the transaction being built; does no I/O, so it is driven the same
 * way by the live reader, by a retained-WAL read and by unit tests.
 *
 * At Commit the transaction is enriched (enrich.ts): shadow and tombstone changes fold into
 * tags, origin and commit time, then `electric.*` changes other than `ddl_commands` inserts
 * and permission-rule changes (`grants`, `assignments`) are removed. Unchanged-TOAST values in
 * new tuples are taken from the old tuple (electrified tables have REPLICA IDENTITY FULL);
 * TRUNCATE is kept as a `truncate` change with a warning.
 */
import {
  type Begin,
  type LogicalMessage,
  type PgoutputMessage,
  pgTimestampToDate,
  type Relation,
  SKIPPED,
  type TupleValue,
  UNCHANGED_TOAST,
} from "../pgwire/mod.ts";
import { ELECTRIC_SCHEMA, PERMISSION_RULE_TABLES } from "../storage/mod.ts";
import { enrichTransaction, type PrimaryKeyLookup, shadowPrimaryKey } from "./enrich.ts";
import { clientTag, parseTag, parseTagArray, type PgTag } from "./tags.ts";
import type { Change, ReferencedRecord, RelationRef, Row, Transaction } from "./transaction.ts";

export const FK_CHAIN_TOUCH_PREFIX = "electric.fk_chain_touch";

export type AssemblerErrorCode = "UNKNOWN_RELATION" | "PROTOCOL_VIOLATION";

export type AssemblerResult =
  | { kind: "none" }
  | { kind: "transaction"; transaction: Transaction }
  | { kind: "error"; code: AssemblerErrorCode; message: string };

export interface AssemblerOptions {
  /** The connector's origin, `postgres_1`. */
  origin: string;
  onWarning?: (message: string) => void;
  /** Primary key columns of a user table, when the schema model knows them. */
  primaryKey?: PrimaryKeyLookup;
}

interface Building {
  begin: Begin;
  changes: Change[];
  referencedRecords: ReferencedRecord[];
}

const NONE: AssemblerResult = { kind: "none" };

/**
 * What is never read of a relation's rows: of a shadow table, everything but its key and the
 * two tag columns enrichment reads; of tombstones and the service's other tables (except the
 * captured DDL and the permission rules), everything. One shadow row comes with every row
 * change and is several times as wide as what is read of it; skipped values are stepped over
 * without making strings.
 */
function skippedColumns(relation: RelationRef): readonly boolean[] | undefined {
  if (relation.schema !== ELECTRIC_SCHEMA || keptElectricTable(relation.table)) return undefined;
  if (!relation.table.startsWith("shadow__")) return relation.columns.map(() => true);
  const key = new Set(shadowPrimaryKey(relation));
  return relation.columns.map((c) => !(key.has(c.name) || c.name === "_tags" || c.name === "_tag"));
}

function keptElectricTable(table: string): boolean {
  return table === "ddl_commands" || PERMISSION_RULE_TABLES.includes(table);
}

export class TransactionAssembler {
  #options: AssemblerOptions;
  #relations = new Map<number, RelationRef>();
  #skips = new Map<number, readonly boolean[] | undefined>();

  /** Columns of relation `relationId` nothing downstream reads (see `skippedColumns`). */
  readonly skip = (relationId: number): readonly boolean[] | undefined =>
    this.#skips.get(relationId);
  #current: Building | undefined;

  constructor(options: AssemblerOptions) {
    this.#options = options;
  }

  /** True between Begin and Commit. */
  get inTransaction(): boolean {
    return this.#current !== undefined;
  }

  push(message: PgoutputMessage): AssemblerResult {
    switch (message.tag) {
      case "relation": {
        const relation = relationRef(message);
        this.#relations.set(message.relationId, relation);
        this.#skips.set(message.relationId, skippedColumns(relation));
        return NONE;
      }
      case "type":
      case "origin":
        return NONE;
      case "begin":
        if (this.#current) return violation(`Begin at "${message.finalLsn}" inside a transaction`);
        this.#current = { begin: message, changes: [], referencedRecords: [] };
        return NONE;
      case "message":
        return this.#logicalMessage(message);
      case "commit": {
        const current = this.#current;
        if (!current) return violation("Commit without Begin");
        this.#current = undefined;
        if (message.commitLsn !== current.begin.finalLsn) {
          return violation(
            `Commit LSN "${message.commitLsn}" differs from Begin's "${current.begin.finalLsn}"`,
          );
        }
        const transaction = enrichTransaction({
          xid: current.begin.xid,
          lsn: message.endLsn,
          commitTimestamp: pgTimestampToDate(current.begin.commitTime),
          origin: this.#options.origin,
          changes: current.changes,
          referencedRecords: current.referencedRecords,
          byteSize: 0,
        }, this.#options);
        return { kind: "transaction", transaction };
      }
      default:
        return this.#change(message);
    }
  }

  #change(
    message: Extract<PgoutputMessage, { tag: "insert" | "update" | "delete" | "truncate" }>,
  ): AssemblerResult {
    const current = this.#current;
    if (!current) return violation(`"${message.tag}" outside a transaction`);
    if (message.tag === "truncate") {
      const relations: RelationRef[] = [];
      for (const id of message.relationIds) {
        const relation = this.#relations.get(id);
        if (!relation) return unknownRelation(id);
        relations.push(relation);
      }
      current.changes.push({ kind: "truncate", relations });
      return NONE;
    }
    const relation = this.#relations.get(message.relationId);
    if (!relation) return unknownRelation(message.relationId);
    if (message.tag === "insert") {
      current.changes.push({
        kind: "insert",
        relation,
        record: this.#row(relation, message.newTuple),
        tags: [],
      });
    } else if (message.tag === "update") {
      const oldRecord = message.oldTuple ? this.#row(relation, message.oldTuple) : undefined;
      current.changes.push({
        kind: "update",
        relation,
        record: this.#row(relation, message.newTuple, oldRecord),
        ...(oldRecord ? { oldRecord } : {}),
        tags: [],
      });
    } else {
      current.changes.push({
        kind: "delete",
        relation,
        oldRecord: this.#row(relation, message.oldTuple),
        tags: [],
      });
    }
    return NONE;
  }

  /** Unchanged TOAST in a new tuple takes the old tuple's value; without one it is left out. */
  #row(relation: RelationRef, tuple: TupleValue[], old?: Row): Row {
    const row: Row = {};
    relation.columns.forEach((column, i) => {
      const value = tuple[i];
      if (value === SKIPPED) return;
      if (value === UNCHANGED_TOAST || value === undefined) {
        if (old && old[column.name] !== undefined) row[column.name] = old[column.name];
        else {
          this.#options.onWarning?.(
            `Unchanged TOAST value without an old value: "${relation.schema}.${relation.table}.${column.name}"`,
          );
        }
      } else if (value instanceof Uint8Array) {
        row[column.name] = new TextDecoder().decode(value);
      } else {
        row[column.name] = value;
      }
    });
    return row;
  }

  #logicalMessage(message: LogicalMessage): AssemblerResult {
    const current = this.#current;
    if (message.prefix !== FK_CHAIN_TOUCH_PREFIX || !current || (message.flags & 1) === 0) {
      this.#options.onWarning?.(`Ignored logical message with prefix "${message.prefix}"`);
      return NONE;
    }
    const record = parseReferencedRecord(message.content, this.#options.origin);
    if (record) current.referencedRecords.push(record);
    else this.#options.onWarning?.(`Malformed "${FK_CHAIN_TOUCH_PREFIX}" message ignored`);
    return NONE;
  }
}

function relationRef(message: Relation): RelationRef {
  return {
    schema: message.namespace === "" ? "pg_catalog" : message.namespace,
    table: message.name,
    oid: message.relationId,
    columns: message.columns.map(({ name, typeOid, typeModifier }) => ({
      name,
      typeOid,
      typeModifier,
    })),
  };
}

/** `{schema, table, tags, data, pk}`; `tags` may be an array literal or a JSON array. */
export function parseReferencedRecord(
  content: Uint8Array,
  origin: string,
): ReferencedRecord | undefined {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(content));
  } catch {
    return undefined;
  }
  if (typeof json !== "object" || json === null) return undefined;
  const { schema, table, tags, data, pk } = json as Record<string, unknown>;
  if (typeof schema !== "string" || typeof table !== "string") return undefined;
  if (typeof data !== "object" || data === null || Array.isArray(data)) return undefined;
  const record: Row = {};
  for (const [key, value] of Object.entries(data)) {
    record[key] = value === null ? null : typeof value === "string" ? value : JSON.stringify(value);
  }
  const pkValues = Array.isArray(pk) ? pk.map((v) => (typeof v === "string" ? v : String(v))) : [];
  return {
    schema,
    table,
    record,
    pk: pkValues,
    tags: jsonTags(tags).map((t) => clientTag(t, origin)),
  };
}

function jsonTags(tags: unknown): PgTag[] {
  if (typeof tags === "string") return parseTagArray(tags);
  if (!Array.isArray(tags)) return [];
  const out: PgTag[] = [];
  for (const item of tags) {
    if (typeof item === "string") {
      const tag = parseTag(item);
      if (tag) out.push(tag);
    } else if (item && typeof item === "object") {
      const { timestamp, source_id } = item as Record<string, unknown>;
      const parsed = typeof timestamp === "string"
        ? parseTag(
          `("${timestamp}",${
            typeof source_id === "string" ? `"${source_id.replaceAll('"', '""')}"` : ""
          })`,
        )
        : undefined;
      if (parsed) out.push(parsed);
    }
  }
  return out;
}

function violation(message: string): AssemblerResult {
  return { kind: "error", code: "PROTOCOL_VIOLATION", message };
}

function unknownRelation(id: number): AssemblerResult {
  return {
    kind: "error",
    code: "UNKNOWN_RELATION",
    message: `Change for unknown relation "${id}"`,
  };
}
