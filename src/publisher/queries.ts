/**
 * The simple queries a subscribing Postgres sends to its publisher, recognised after
 * normalisation (unquoted whitespace runs collapsed to one space, trailing `;` dropped), and
 * the exact answers (postgres-side.md §8.7). Pure: classification and result sets only.
 *
 * A subscriber sees `server_version` = `electric-…`, which libpq reads as version 0, so it
 * always uses the oldest form of each catalog query; only those forms are recognised.
 */
import {
  type BackendMessage,
  type FieldDescription,
  parseLsn,
  textDataRow,
} from "../pgwire/mod.ts";
import type { PublishedTable } from "./catalog.ts";

export type ReplicationQuery =
  | { tag: "set_search_path" }
  | { tag: "publication_tables"; publications: string[] }
  | { tag: "relation_info"; schema: string; table: string }
  | { tag: "attributes"; relationOid: number }
  | { tag: "identify_system" }
  | { tag: "begin" }
  | { tag: "commit" }
  | { tag: "drop_replication_slot" }
  | { tag: "create_replication_slot" }
  | {
    tag: "start_replication";
    slot: string;
    startLsn: bigint;
    options: Record<string, string>;
  }
  | { tag: "unknown"; sql: string };

/** Collapses whitespace outside quotes to single spaces, trims, strips trailing `;`. */
export function normaliseQuery(sql: string): string {
  let out = "";
  let quote: string | undefined;
  let pendingSpace = false;
  for (const ch of sql) {
    if (quote !== undefined) {
      out += ch;
      if (ch === quote) quote = undefined;
      continue;
    }
    if (/\s/.test(ch)) {
      pendingSpace = true;
      continue;
    }
    if (pendingSpace && out !== "") out += " ";
    pendingSpace = false;
    out += ch;
    if (ch === "'" || ch === '"') quote = ch;
  }
  while (out.endsWith(";")) out = out.slice(0, -1).trimEnd();
  return out;
}

const SET_SEARCH_PATH = "SELECT pg_catalog.set_config('search_path', '', false)";
const PUBLICATION_TABLES = "SELECT DISTINCT t.schemaname, t.tablename " +
  "FROM pg_catalog.pg_publication_tables t WHERE t.pubname IN (";
const RELATION_INFO = new RegExp(
  "^SELECT c\\.oid, c\\.relreplident, c\\.relkind FROM pg_catalog\\.pg_class c " +
    "INNER JOIN pg_catalog\\.pg_namespace n ON \\(c\\.relnamespace = n\\.oid\\) " +
    "WHERE n\\.nspname = ('(?:[^']|'')*') AND c\\.relname = ('(?:[^']|'')*')$",
);
const ATTRIBUTES =
  /^SELECT a\.attname, a\.atttypid, a\.attnum = ANY\(i\.indkey\) FROM pg_catalog\.pg_attribute a .*\ba\.attrelid = (\d+)\b/;
const START_REPLICATION =
  /^START_REPLICATION SLOT ("(?:[^"]|"")*"|[A-Za-z0-9_]+) LOGICAL ([0-9A-Fa-f]+\/[0-9A-Fa-f]+)(?: \((.*)\))?$/;

function unquoteLiteral(text: string): string {
  return text.slice(1, -1).replaceAll("''", "'");
}

function unquoteIdent(text: string): string {
  return text.startsWith('"') ? text.slice(1, -1).replaceAll('""', '"') : text.toLowerCase();
}

/** `name 'value', name2 'value2'` as sent in START_REPLICATION's option list. */
function parseOptions(text: string | undefined): Record<string, string> | undefined {
  const options: Record<string, string> = {};
  if (text === undefined || text.trim() === "") return options;
  const item =
    /\s*("(?:[^"]|"")*"|[A-Za-z_][A-Za-z0-9_]*)(?:\s+('(?:[^']|'')*'|[^,\s]+))?\s*(,|$)/y;
  let at = 0;
  while (at < text.length) {
    item.lastIndex = at;
    const match = item.exec(text);
    if (!match) return undefined;
    const value = match[2] === undefined
      ? ""
      : match[2].startsWith("'")
      ? unquoteLiteral(match[2])
      : match[2];
    options[unquoteIdent(match[1])] = value;
    at = item.lastIndex;
    if (match[3] === "") break;
  }
  return options;
}

export function classifyQuery(sql: string): ReplicationQuery {
  const q = normaliseQuery(sql);
  if (q === SET_SEARCH_PATH) return { tag: "set_search_path" };
  if (q.startsWith(PUBLICATION_TABLES) && q.endsWith(")")) {
    const list = q.slice(PUBLICATION_TABLES.length, -1);
    const publications = [...list.matchAll(/'((?:[^']|'')*)'/g)].map((m) =>
      m[1].replaceAll("''", "'")
    );
    return { tag: "publication_tables", publications };
  }
  const relation = RELATION_INFO.exec(q);
  if (relation) {
    return {
      tag: "relation_info",
      schema: unquoteLiteral(relation[1]),
      table: unquoteLiteral(relation[2]),
    };
  }
  const attributes = ATTRIBUTES.exec(q);
  if (attributes) return { tag: "attributes", relationOid: Number(attributes[1]) };
  const upper = q.toUpperCase();
  if (upper === "IDENTIFY_SYSTEM") return { tag: "identify_system" };
  if (upper === "BEGIN" || upper.startsWith("BEGIN ")) return { tag: "begin" };
  if (upper === "COMMIT") return { tag: "commit" };
  if (upper.startsWith("DROP_REPLICATION_SLOT ")) return { tag: "drop_replication_slot" };
  if (upper.startsWith("CREATE_REPLICATION_SLOT ")) return { tag: "create_replication_slot" };
  const start = START_REPLICATION.exec(q);
  if (start) {
    const startLsn = parseLsn(start[2]);
    const options = parseOptions(start[3]);
    if (startLsn !== undefined && options !== undefined) {
      return { tag: "start_replication", slot: unquoteIdent(start[1]), startLsn, options };
    }
  }
  return { tag: "unknown", sql: q };
}

/** Type OIDs and sizes of the columns the answers use. */
const TYPES = {
  text: { typeOid: 25, typeSize: -1 },
  name: { typeOid: 19, typeSize: 64 },
  oid: { typeOid: 26, typeSize: 4 },
  char: { typeOid: 18, typeSize: 1 },
  int4: { typeOid: 23, typeSize: 4 },
  bool: { typeOid: 16, typeSize: 1 },
} as const;

function field(name: string, type: keyof typeof TYPES): FieldDescription {
  return { name, tableOid: 0, columnNumber: 0, ...TYPES[type], typeModifier: -1, format: 0 };
}

/** RowDescription, DataRows, CommandComplete `SELECT <n>` (or the given tag). */
export function resultSet(
  fields: FieldDescription[],
  rows: (string | null)[][],
  command = `SELECT ${rows.length}`,
): BackendMessage[] {
  return [
    { type: "RowDescription", fields },
    ...rows.map(textDataRow),
    { type: "CommandComplete", tag: command },
  ];
}

export function setSearchPathAnswer(): BackendMessage[] {
  return resultSet([field("set_config", "text")], [[""]]);
}

export function publicationTablesAnswer(tables: readonly PublishedTable[]): BackendMessage[] {
  return resultSet(
    [field("schemaname", "name"), field("tablename", "name")],
    tables.map((t) => [t.schema, t.name]),
  );
}

/**
 * One row per known table: OID, replica identity `f`, and relkind `f` as the reference
 * answers (only an initial table copy reads it, and the subscription never copies).
 */
export function relationInfoAnswer(table: PublishedTable | undefined): BackendMessage[] {
  return resultSet(
    [field("oid", "oid"), field("relreplident", "char"), field("relkind", "char")],
    table ? [[String(table.oid), "f", "f"]] : [],
  );
}

export function attributesAnswer(table: PublishedTable | undefined): BackendMessage[] {
  return resultSet(
    [field("attname", "name"), field("atttypid", "oid"), field("?column?", "bool")],
    (table?.columns ?? []).map((c) => [c.name, String(c.typeOid), "t"]),
  );
}

export function identifySystemAnswer(systemId: string, database: string): BackendMessage[] {
  return resultSet(
    [
      field("systemid", "text"),
      field("timeline", "int4"),
      field("xlogpos", "text"),
      field("dbname", "text"),
    ],
    [[systemId, "1", "0/1", database]],
    "IDENTIFY_SYSTEM",
  );
}
