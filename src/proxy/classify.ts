/**
 * What the proxy does with one statement (proxy-http-auth-config.md §3.5, postgres-side.md
 * §4.3): pass it, capture it, refuse it, run it as DDLX, or treat it as transaction control.
 * Pure functions over the parser's AST; whether a table is electrified comes in as a view.
 */
import type { TypeName } from "@pgsql/types";
import { checkColumnType, formatPgType, pgTypeFromAst } from "../schema/mod.ts";
import type { QualifiedName } from "./ddlx.ts";
import { type ProxyError, refusal } from "./errors.ts";
import type { Statement } from "./parse_sql.ts";

/** Which relations are electrified, as seen just before a statement runs. */
export interface ElectrifiedView {
  isTable(table: QualifiedName): boolean;
  /** The electrified table an index belongs to, if any. */
  indexTable(index: QualifiedName): QualifiedName | undefined;
}

export const EMPTY_VIEW: ElectrifiedView = {
  isTable: () => false,
  indexTable: () => undefined,
};

export type TxControl = "begin" | "commit" | "rollback";

export type Framework = "ecto" | "prisma" | "atdatabases";

/** Facts about a statement that do not depend on which tables are electrified. */
export interface StatementInfo {
  needsTx: boolean;
  /** DDL whose outcome depends on electrification: look tables up before it runs. */
  needsLookup: boolean;
  tx?: TxControl;
  /** `INSERT` into a migration framework's bookkeeping table, with the version's column. */
  framework?: { framework: Framework; column: string; paramIndex?: number };
  /** `CALL electric.electrify(…)`: electrifies like ENABLE ELECTRIC. */
  electrify?: boolean;
}

export type Decision =
  | { action: "pass" }
  | { action: "capture"; table: QualifiedName; addColumns: { name: string; type: string }[] }
  | { action: "refuse"; error: ProxyError };

const PLAIN: StatementInfo = { needsTx: false, needsLookup: false };

type Ast = Record<string, unknown>;
type RangeVar = { schemaname?: string; relname?: string };

function qualified(rel: RangeVar | undefined): QualifiedName | undefined {
  if (!rel?.relname) return undefined;
  return { schema: rel.schemaname ?? "public", name: rel.relname };
}

function stringItems(node: unknown): string[] {
  const items = (node as { List?: { items?: Ast[] } })?.List?.items ?? [];
  return items.map((i) => (i.String as { sval?: string } | undefined)?.sval ?? "");
}

function namesToQualified(names: string[]): QualifiedName | undefined {
  if (names.length === 1) return { schema: "public", name: names[0] };
  if (names.length === 2) return { schema: names[0], name: names[1] };
  if (names.length === 3) return { schema: names[1], name: names[2] };
  return undefined;
}

const FRAMEWORKS: { framework: Framework; table: string; columns: string[][]; column: string }[] = [
  {
    framework: "ecto",
    table: "schema_migrations",
    columns: [["inserted_at", "version"]],
    column: "version",
  },
  {
    framework: "prisma",
    table: "_prisma_migrations",
    columns: [
      ["checksum", "finished_at", "id", "logs", "migration_name", "started_at"],
      ["checksum", "id", "migration_name", "started_at"],
    ],
    column: "migration_name",
  },
  {
    framework: "atdatabases",
    table: "atdatabases_migrations_applied",
    columns: [["applied_at", "ignored_error", "index", "name", "obsolete", "script"]],
    column: "index",
  },
];

function frameworkInsert(stmt: Ast): StatementInfo["framework"] {
  const rel = qualified(stmt.relation as RangeVar);
  if (!rel || rel.schema !== "public") return undefined;
  const entry = FRAMEWORKS.find((f) => f.table === rel.name);
  if (!entry) return undefined;
  const cols = ((stmt.cols ?? []) as Ast[]).map((
    c,
  ) => ((c.ResTarget as { name?: string })?.name ?? ""));
  const sorted = [...cols].sort().join(",");
  if (!entry.columns.some((set) => set.join(",") === sorted)) return undefined;
  // The version's parameter: the `$n` in the VALUES row at the version column's position.
  const position = cols.indexOf(entry.column);
  const select = (stmt.selectStmt as { SelectStmt?: { valuesLists?: Ast[] } })?.SelectStmt;
  const row = (select?.valuesLists?.[0] as { List?: { items?: Ast[] } })?.List?.items;
  const param = (row?.[position]?.ParamRef as { number?: number } | undefined)?.number;
  return {
    framework: entry.framework,
    column: entry.column,
    ...(param === undefined ? {} : { paramIndex: param - 1 }),
  };
}

/** Facts about a statement before anything is looked up. */
export function inspect(statement: Statement): StatementInfo {
  if (statement.kind !== "sql") return { needsTx: true, needsLookup: false };
  const [type] = Object.keys(statement.ast);
  const node = statement.ast[type] as Ast;
  switch (type) {
    case "CreateStmt":
      return { needsTx: true, needsLookup: false };
    case "IndexStmt":
    case "AlterTableStmt":
    case "RenameStmt":
      return { needsTx: true, needsLookup: true };
    case "DropStmt": {
      const kind = node.removeType;
      return kind === "OBJECT_TABLE" || kind === "OBJECT_INDEX"
        ? { needsTx: true, needsLookup: true }
        : PLAIN;
    }
    case "TransactionStmt":
      switch (node.kind) {
        case "TRANS_STMT_BEGIN":
        case "TRANS_STMT_START":
          return { ...PLAIN, tx: "begin" };
        case "TRANS_STMT_COMMIT":
          return { ...PLAIN, tx: "commit" };
        case "TRANS_STMT_ROLLBACK":
          return { ...PLAIN, tx: "rollback" };
      }
      return PLAIN;
    case "CallStmt": {
      const call = node.funccall as { funcname?: Ast[] } | undefined;
      const names = (call?.funcname ?? []).map((n) => (n.String as { sval?: string })?.sval);
      if (names.length === 2 && names[0] === "electric" && names[1] === "electrify") {
        return { needsTx: true, needsLookup: false, electrify: true };
      }
      return PLAIN;
    }
    case "InsertStmt": {
      const framework = frameworkInsert(node);
      return framework ? { ...PLAIN, framework } : PLAIN;
    }
  }
  return PLAIN;
}

/** Whether a statement is a `DO` block (refused: it cannot be analysed). */
export function isDoBlock(statement: Statement): boolean {
  return statement.kind === "sql" && "DoStmt" in statement.ast;
}

const ALLOWED_SUBCOMMANDS = new Set([
  "AT_EnableTrig",
  "AT_EnableAlwaysTrig",
  "AT_EnableReplicaTrig",
  "AT_EnableTrigAll",
  "AT_EnableTrigUser",
  "AT_DisableTrig",
  "AT_DisableTrigAll",
  "AT_DisableTrigUser",
  "AT_ChangeOwner",
  "AT_SetStorage",
  "AT_SetStatistics",
  "AT_SetOptions",
  "AT_ResetOptions",
  "AT_SetCompression",
  "AT_SetRelOptions",
  "AT_ResetRelOptions",
  "AT_ReplaceRelOptions",
  "AT_SetAccessMethod",
]);

const CONSTRAINT_NAMES: Record<string, string> = {
  CONSTR_CHECK: "CHECK",
  CONSTR_PRIMARY: "PRIMARY KEY",
  CONSTR_UNIQUE: "UNIQUE",
  CONSTR_FOREIGN: "FOREIGN KEY",
  CONSTR_GENERATED: "GENERATED",
  CONSTR_IDENTITY: "GENERATED",
  CONSTR_EXCLUSION: "EXCLUDE",
};

/** A refusal or the normalised type for `ADD COLUMN <def>` on an electrified table. */
function checkAddColumn(
  def: Ast,
  table: QualifiedName,
  extended: boolean,
): { ok: true; name: string; type: string } | { ok: false; error: ProxyError } {
  const column = def.ColumnDef as { colname?: string; typeName?: TypeName; constraints?: Ast[] };
  const { type, spelling } = pgTypeFromAst(column.typeName ?? {});
  const shown = ["serial", "serial2", "serial4", "serial8", "smallserial", "bigserial"].includes(
      spelling,
    )
    ? spelling
    : formatPgType(type);
  const check = checkColumnType(shown);
  if (!check.ok) {
    return {
      ok: false,
      error: refusal(
        "EX005",
        `Cannot electrify column of type "${check.formatted}"`,
        table,
        extended,
      ),
    };
  }
  for (const c of column.constraints ?? []) {
    const contype = (c.Constraint as { contype?: string })?.contype ?? "";
    if (contype === "CONSTR_NULL" || contype === "CONSTR_NOTNULL") continue;
    if (contype === "CONSTR_DEFAULT") {
      return {
        ok: false,
        error: refusal("EX006", "Cannot electrify column with DEFAULT clause", table, extended),
      };
    }
    const name = CONSTRAINT_NAMES[contype] ?? contype.replace(/^CONSTR_/, "");
    return {
      ok: false,
      error: refusal("EX011", `Cannot electrify column with ${name} constraint`, table, extended),
    };
  }
  return { ok: true, name: column.colname ?? "", type: formatPgType(type) };
}

function label(table: QualifiedName): string {
  return `"${table.schema}"."${table.name}"`;
}

/**
 * The decision for a statement, given which relations are electrified. `extended` selects the
 * extended-protocol variants of the refusals (detail, schema and table fields; EX100).
 */
export function decide(statement: Statement, view: ElectrifiedView, extended: boolean): Decision {
  if (statement.kind !== "sql") return { action: "pass" };
  const [type] = Object.keys(statement.ast);
  const node = statement.ast[type] as Ast;
  switch (type) {
    case "IndexStmt": {
      const table = qualified(node.relation as RangeVar);
      return table && view.isTable(table)
        ? { action: "capture", table, addColumns: [] }
        : { action: "pass" };
    }
    case "AlterTableStmt": {
      if (node.objtype !== "OBJECT_TABLE") return { action: "pass" };
      const table = qualified(node.relation as RangeVar);
      if (!table || !view.isTable(table)) return { action: "pass" };
      const addColumns: { name: string; type: string }[] = [];
      for (const entry of (node.cmds ?? []) as Ast[]) {
        const cmd = entry.AlterTableCmd as { subtype?: string; name?: string; def?: Ast };
        const subtype = cmd.subtype ?? "";
        if (subtype === "AT_AddColumn") {
          const checked = checkAddColumn(cmd.def ?? {}, table, extended);
          if (!checked.ok) return { action: "refuse", error: checked.error };
          addColumns.push({ name: checked.name, type: checked.type });
        } else if (subtype === "AT_DropColumn") {
          return refuse(
            "EX010",
            `Cannot drop column "${cmd.name}" of electrified table ${label(table)}`,
          );
        } else if (subtype === "AT_AlterColumnType") {
          return refuse(
            "EX009",
            `Cannot change type of column "${cmd.name}" of electrified table ${label(table)}`,
          );
        } else if (!ALLOWED_SUBCOMMANDS.has(subtype)) {
          return refuse(
            "EX007",
            `Cannot alter column "${cmd.name ?? ""}" of electrified table ${label(table)}`,
          );
        }
      }
      return addColumns.length > 0 ? { action: "capture", table, addColumns } : { action: "pass" };
    }
    case "RenameStmt": {
      const table = qualified(node.relation as RangeVar);
      if (!table || !view.isTable(table)) return { action: "pass" };
      switch (node.renameType) {
        case "OBJECT_TABLE":
          return refuse("EX002", `Cannot rename electrified table ${label(table)}`);
        case "OBJECT_COLUMN":
          return refuse(
            "EX008",
            `Cannot rename column "${node.subname}" of electrified table ${label(table)}`,
          );
        case "OBJECT_TABCONSTRAINT":
          return refuse(
            "EX012",
            `Cannot rename constraint "${node.subname}" of electrified table ${label(table)}`,
          );
      }
      return refuse("EX003", `Cannot rename property of electrified table ${label(table)}`);
    }
    case "DropStmt": {
      const names = ((node.objects ?? []) as unknown[]).map((o) =>
        namesToQualified(stringItems(o))
      );
      if (node.removeType === "OBJECT_TABLE") {
        for (const table of names) {
          if (table && view.isTable(table)) {
            return extended
              ? refuse("EX100", `Cannot DROP Electrified table ${label(table)}`)
              : refuse("EX004", `Cannot drop electrified table ${label(table)}`);
          }
        }
        return { action: "pass" };
      }
      if (node.removeType === "OBJECT_INDEX") {
        for (const index of names) {
          const table = index && view.indexTable(index);
          if (table) return { action: "capture", table, addColumns: [] };
        }
      }
      return { action: "pass" };
    }
  }
  return { action: "pass" };

  function refuse(code: string, message: string): Decision {
    const table = qualified(node.relation as RangeVar) ??
      namesToQualified(stringItems((node.objects as unknown[])?.[0]));
    return { action: "refuse", error: refusal(code, message, table, extended) };
  }
}
