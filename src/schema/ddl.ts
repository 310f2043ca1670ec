/**
 * Reads the DDL statements the model cares about out of parser nodes, into plain
 * descriptions that do not depend on the model yet (names still unresolved, defaults not yet
 * chosen). Everything else becomes `{ kind: "ignored" }`. Pure: no I/O, no parser calls; the
 * index text parts come from tokens the caller scanned.
 */
import type {
  AlterTableCmd,
  ColumnDef,
  Constraint,
  CreateStmt,
  IndexElem,
  IndexStmt,
  Node,
  RangeVar,
} from "@pgsql/types";
import { DEFAULT_SCHEMA, type FkAction, type PgType } from "./model.ts";
import { pgTypeFromAst } from "./pg_types.ts";
import { sqliteExpr } from "./sqlite_expr.ts";
import type { RawToken } from "./wasm.ts";

export interface ColumnDecl {
  name: string;
  type: PgType;
  notNull: boolean;
}

export interface ForeignKeyDecl {
  name?: string;
  columns: string[];
  parentSchema: string;
  parentTable: string;
  /** Absent when the statement relies on the parent's primary key. */
  parentColumns?: string[];
  onDelete: FkAction;
  onUpdate: FkAction;
}

export interface IndexColumnDecl {
  /** Set for a plain column. */
  column?: string;
  /** An expression element: its source text, its SQLite rendering and the column name
   * Postgres derives from it. */
  expression?: { text: string; sqlite: string; derivedName: string };
  descending: boolean;
}

export type DdlStatement =
  | {
    kind: "create_table";
    schema: string;
    name: string;
    columns: ColumnDecl[];
    primaryKey?: { name?: string; columns: string[] };
    foreignKeys: ForeignKeyDecl[];
  }
  | { kind: "add_column"; schema: string; table: string; columns: ColumnDecl[] }
  | {
    kind: "create_index";
    schema: string;
    table: string;
    name?: string;
    unique: boolean;
    ifNotExists: boolean;
    columns: IndexColumnDecl[];
    where?: { text: string; sqlite: string };
  }
  | { kind: "drop_index"; indexes: { schema: string; name: string }[] }
  | { kind: "create_enum"; schema: string; name: string; values: string[] }
  | { kind: "ignored"; reason: string };

/** Text pieces of a CREATE INDEX that the parser tree does not keep as text. */
export interface IndexTextParts {
  elements: string[];
  where?: string;
}

const FK_ACTIONS: Record<string, FkAction> = {
  a: "NO ACTION",
  r: "RESTRICT",
  c: "CASCADE",
  n: "SET NULL",
  d: "SET DEFAULT",
};

export function readStatement(ast: unknown, indexText?: IndexTextParts): DdlStatement {
  const node = ast as Node;
  if ("CreateStmt" in node) return readCreateTable(node.CreateStmt);
  if ("AlterTableStmt" in node) {
    const stmt = node.AlterTableStmt;
    if (stmt.objtype !== "OBJECT_TABLE" || !stmt.relation) return ignored("ALTER of a non-table");
    const columns = (stmt.cmds ?? []).flatMap((c) =>
      "AlterTableCmd" in c ? addedColumn(c.AlterTableCmd) : []
    );
    if (columns.length === 0) return ignored("ALTER TABLE without ADD COLUMN");
    const { schema, name } = relationName(stmt.relation);
    return { kind: "add_column", schema, table: name, columns };
  }
  if ("IndexStmt" in node) return readCreateIndex(node.IndexStmt, indexText);
  if ("DropStmt" in node && node.DropStmt.removeType === "OBJECT_INDEX") {
    const indexes = (node.DropStmt.objects ?? []).map((o) => qualifiedName(listNames(o)));
    return { kind: "drop_index", indexes };
  }
  if ("CreateEnumStmt" in node) {
    const { schema, name } = qualifiedName(strings(node.CreateEnumStmt.typeName));
    return { kind: "create_enum", schema, name, values: strings(node.CreateEnumStmt.vals) };
  }
  return ignored(`unsupported statement ${Object.keys(node)[0] ?? "(empty)"}`);
}

function ignored(reason: string): DdlStatement {
  return { kind: "ignored", reason };
}

function readCreateTable(stmt: CreateStmt): DdlStatement {
  if (!stmt.relation) return ignored("CREATE TABLE without a name");
  const { schema, name } = relationName(stmt.relation);
  const columns: ColumnDecl[] = [];
  const foreignKeys: ForeignKeyDecl[] = [];
  let primaryKey: { name?: string; columns: string[] } | undefined;
  for (const elt of stmt.tableElts ?? []) {
    if ("ColumnDef" in elt) {
      const col = elt.ColumnDef;
      columns.push(columnDecl(col));
      for (const c of constraintsOf(col)) {
        if (c.contype === "CONSTR_PRIMARY") {
          primaryKey ??= { name: c.conname, columns: [col.colname ?? ""] };
        } else if (c.contype === "CONSTR_FOREIGN") {
          foreignKeys.push(foreignKeyDecl(c, [col.colname ?? ""]));
        }
      }
    } else if ("Constraint" in elt) {
      const c = elt.Constraint;
      if (c.contype === "CONSTR_PRIMARY") {
        primaryKey ??= { name: c.conname, columns: strings(c.keys) };
      } else if (c.contype === "CONSTR_FOREIGN") {
        foreignKeys.push(foreignKeyDecl(c, strings(c.fk_attrs)));
      }
    }
  }
  return { kind: "create_table", schema, name, columns, primaryKey, foreignKeys };
}

function addedColumn(cmd: AlterTableCmd): ColumnDecl[] {
  if (cmd.subtype !== "AT_AddColumn" || !cmd.def || !("ColumnDef" in cmd.def)) return [];
  return [columnDecl(cmd.def.ColumnDef)];
}

function columnDecl(col: ColumnDef): ColumnDecl {
  const constraints = constraintsOf(col);
  const notNull = constraints.some((c) =>
    c.contype === "CONSTR_NOTNULL" || c.contype === "CONSTR_PRIMARY"
  );
  const type = col.typeName
    ? pgTypeFromAst(col.typeName).type
    : { name: "unknown", array: [], size: [] };
  return { name: col.colname ?? "", type, notNull };
}

function constraintsOf(col: ColumnDef): Constraint[] {
  return (col.constraints ?? []).flatMap((c) => ("Constraint" in c ? [c.Constraint] : []));
}

function foreignKeyDecl(c: Constraint, columns: string[]): ForeignKeyDecl {
  const parent = c.pktable ? relationName(c.pktable) : { schema: DEFAULT_SCHEMA, name: "" };
  const parentColumns = strings(c.pk_attrs);
  return {
    name: c.conname,
    columns,
    parentSchema: parent.schema,
    parentTable: parent.name,
    parentColumns: parentColumns.length > 0 ? parentColumns : undefined,
    onDelete: FK_ACTIONS[c.fk_del_action ?? "a"] ?? "NO ACTION",
    onUpdate: FK_ACTIONS[c.fk_upd_action ?? "a"] ?? "NO ACTION",
  };
}

function readCreateIndex(stmt: IndexStmt, text?: IndexTextParts): DdlStatement {
  if (!stmt.relation) return ignored("CREATE INDEX without a table");
  const { schema, name } = relationName(stmt.relation);
  const elems = (stmt.indexParams ?? []).flatMap((p) => ("IndexElem" in p ? [p.IndexElem] : []));
  const columns = elems.map((e, i) => indexColumn(e, text?.elements[i]));
  return {
    kind: "create_index",
    schema,
    table: name,
    name: stmt.idxname,
    unique: stmt.unique ?? false,
    ifNotExists: stmt.if_not_exists ?? false,
    columns,
    where: stmt.whereClause ? predicate(stmt.whereClause, text?.where) : undefined,
  };
}

function indexColumn(e: IndexElem, elementText?: string): IndexColumnDecl {
  const descending = e.ordering === "SORTBY_DESC";
  if (e.name !== undefined) return { column: e.name, descending };
  const derivedName = e.indexcolname ?? (e.expr ? expressionColumnName(e.expr) : "expr");
  const text = expressionText(elementText ?? "");
  const sqlite = (e.expr && sqliteExpr(e.expr)) ?? text;
  // SQLite, like Postgres, needs parentheses around an element that is not a function call.
  const wrapped = e.expr && !("FuncCall" in e.expr) && !("CoalesceExpr" in e.expr)
    ? `(${sqlite})`
    : sqlite;
  return { expression: { text, sqlite: wrapped, derivedName }, descending };
}

function predicate(expr: Node, text: string | undefined): { text: string; sqlite: string } {
  const source = text ?? "";
  return { text: source, sqlite: sqliteExpr(expr) ?? source };
}

/** The name Postgres derives for an index expression (FigureIndexColname). */
export function expressionColumnName(expr: Node): string {
  if ("FuncCall" in expr) {
    const names = strings(expr.FuncCall.funcname);
    return names[names.length - 1] ?? "expr";
  }
  if ("TypeCast" in expr) {
    const arg = expr.TypeCast.arg;
    const fromArg = arg ? expressionColumnName(arg) : "expr";
    if (fromArg !== "expr") return fromArg;
    const typeNames = strings(expr.TypeCast.typeName?.names);
    return typeNames[typeNames.length - 1] ?? "expr";
  }
  if ("ColumnRef" in expr) {
    const fields = strings(expr.ColumnRef.fields);
    return fields[fields.length - 1] ?? "expr";
  }
  return "expr";
}

/** An element's expression: its text up to where the first parenthesised group closes. */
function expressionText(element: string): string {
  let depth = 0;
  for (let i = 0; i < element.length; i++) {
    const ch = element[i];
    if (ch === "'" || ch === '"') i = element.indexOf(ch, i + 1);
    else if (ch === "(") depth++;
    else if (ch === ")" && --depth === 0) return element.slice(0, i + 1).trim();
    if (i < 0) break;
  }
  return element.trim();
}

/**
 * The element texts and the predicate of a CREATE INDEX, cut out of its tokens: the elements
 * are the comma-separated parts of the first parenthesised list after `ON`, the predicate is
 * everything after the top-level `WHERE`.
 */
export function indexTextParts(sql: string, tokens: RawToken[]): IndexTextParts {
  const bytes = new TextEncoder().encode(sql);
  const slice = (from: number, to: number) =>
    new TextDecoder().decode(bytes.subarray(from, to)).trim();
  const elements: string[] = [];
  let depth = 0;
  let seenOn = false;
  let listDone = false;
  let elementStart = -1;
  let where: string | undefined;
  for (const t of tokens) {
    const word = t.text.toUpperCase();
    if (t.text === "(") {
      depth++;
      if (depth === 1 && seenOn && !listDone && elementStart < 0) elementStart = t.end;
    } else if (t.text === ")") {
      depth--;
      if (depth === 0 && elementStart >= 0 && !listDone) {
        elements.push(slice(elementStart, t.start));
        listDone = true;
      }
    } else if (t.text === "," && depth === 1 && elementStart >= 0 && !listDone) {
      elements.push(slice(elementStart, t.start));
      elementStart = t.end;
    } else if (depth === 0 && word === "ON" && t.keywordName !== "NO_KEYWORD") {
      seenOn = true;
    } else if (depth === 0 && listDone && word === "WHERE" && t.keywordName !== "NO_KEYWORD") {
      where = slice(t.end, bytes.length);
      break;
    }
  }
  return { elements, where };
}

function relationName(rel: RangeVar): { schema: string; name: string } {
  return { schema: rel.schemaname ?? DEFAULT_SCHEMA, name: rel.relname ?? "" };
}

function qualifiedName(names: string[]): { schema: string; name: string } {
  return names.length > 1
    ? { schema: names[names.length - 2], name: names[names.length - 1] }
    : { schema: DEFAULT_SCHEMA, name: names[0] ?? "" };
}

function listNames(n: Node): string[] {
  return "List" in n ? strings(n.List.items) : strings([n]);
}

function strings(nodes: Node[] | undefined): string[] {
  return (nodes ?? []).flatMap((n) => ("String" in n ? [n.String.sval ?? ""] : []));
}
