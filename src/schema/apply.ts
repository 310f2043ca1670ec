/**
 * Applies one migration version (the statements captured in one transaction) to the schema
 * model, and translates each statement for clients as it goes: the translation of a statement
 * depends on the model at that point (default names, parent keys, enum types).
 *
 * Statements the model does not track are reported as "ignored" with a warning rather than
 * failing the version: capture already happened in Postgres, so refusing here would only stop
 * replication. Only text that does not parse fails the whole version.
 */
import {
  type ColumnModel,
  DEFAULT_SCHEMA,
  type EnumModel,
  findEnum,
  findTable,
  type ForeignKeyModel,
  type IndexModel,
  type PgType,
  putEnum,
  putTable,
  type SchemaModel,
  type TableModel,
} from "./model.ts";
import { type DdlStatement, indexTextParts, readStatement } from "./ddl.ts";
import { foreignKeyName, indexName, primaryKeyName as defaultPkName } from "./names.ts";
import { type ParsedStatement, parseStatements, scanTokens } from "./parse.ts";
import { BUILTIN_TYPES } from "./pg_types.ts";
import { quoteIdent, renderAddColumn, renderCreateIndex, renderCreateTable } from "./sqlite.ts";

export type StmtType = "CREATE_TABLE" | "CREATE_INDEX" | "CREATE_ENUM_TYPE" | "ALTER_ADD_COLUMN";

export interface MigrationStatementResult {
  kind: "create_table" | "add_column" | "create_index" | "drop_index" | "create_enum" | "ignored";
  /** The affected table after the statement (create_table, add_column). */
  table?: TableModel;
  enumType?: EnumModel;
  /** SQLite translations; empty for drop_index, ignored and enums. */
  sqlite: string[];
  /** The statement's text as captured; empty for drop_index and ignored. */
  postgres: string[];
  /** One per `sqlite` entry. */
  stmtTypes: StmtType[];
  /** Why a statement was ignored or partly skipped, for the log. */
  warning?: string;
}

export interface ApplyOptions {
  /** The table's OID from `pg_class`; undefined when unknown (the model then stores 0). */
  tableOid: (schema: string, name: string) => number | undefined;
}

export type ApplyOutcome =
  | { ok: true; model: SchemaModel; results: MigrationStatementResult[][] }
  | { ok: false; error: { code: string; message: string } };

export async function applyMigration(
  model: SchemaModel,
  version: string,
  capturedStatements: string[],
  options: ApplyOptions,
): Promise<ApplyOutcome> {
  let current = model;
  const results: MigrationStatementResult[][] = [];
  for (const text of capturedStatements) {
    const parsed = await parseStatements(text);
    if (!parsed.ok) {
      return {
        ok: false,
        error: {
          code: "SYNTAX_ERROR",
          message: `Captured DDL of version "${version}" does not parse: ${parsed.error.message}`,
        },
      };
    }
    const perText: MigrationStatementResult[] = [];
    for (const stmt of parsed.statements) {
      const ddl = readStatement(stmt.ast, await indexTextFor(stmt));
      const step = applyStatement(current, ddl, { sql: stmt.sql, tableOid: options.tableOid });
      current = step.model;
      perText.push(step.result);
    }
    results.push(perText);
  }
  return { ok: true, model: { ...current, version }, results };
}

async function indexTextFor(stmt: ParsedStatement) {
  const node = stmt.ast as Record<string, unknown>;
  if (!("IndexStmt" in node)) return undefined;
  return indexTextParts(stmt.sql, await scanTokens(stmt.sql));
}

interface Step {
  model: SchemaModel;
  result: MigrationStatementResult;
}

/** Applies one read statement to the model. Pure. */
export function applyStatement(
  model: SchemaModel,
  ddl: DdlStatement,
  context: { sql: string; tableOid: ApplyOptions["tableOid"] },
): Step {
  const { sql } = context;
  switch (ddl.kind) {
    case "create_table": {
      const table = buildTable(model, ddl, context.tableOid);
      return {
        model: putTable(model, table),
        result: {
          kind: "create_table",
          table,
          sqlite: [renderCreateTable(table)],
          postgres: [sql],
          stmtTypes: ["CREATE_TABLE"],
        },
      };
    }
    case "add_column":
      return addColumns(model, ddl, sql);
    case "create_index":
      return createIndex(model, ddl, sql);
    case "drop_index":
      return dropIndexes(model, ddl.indexes);
    case "create_enum": {
      const enumType = { schema: ddl.schema, name: ddl.name, values: ddl.values };
      return {
        model: putEnum(model, enumType),
        result: { kind: "create_enum", enumType, sqlite: [], postgres: [sql], stmtTypes: [] },
      };
    }
    case "ignored":
      return { model, result: ignoredResult(`Ignored DDL (${ddl.reason}): ${sql}`) };
  }
}

function ignoredResult(warning: string): MigrationStatementResult {
  return { kind: "ignored", sqlite: [], postgres: [], stmtTypes: [], warning };
}

/** Enum columns get the enum's qualified name; unqualified names resolve in `public`. */
function resolveType(model: SchemaModel, type: PgType): PgType {
  if (BUILTIN_TYPES.has(type.name)) return type;
  const dot = type.name.indexOf(".");
  const [schema, name] = dot < 0
    ? [DEFAULT_SCHEMA, type.name]
    : [type.name.slice(0, dot), type.name.slice(dot + 1)];
  return findEnum(model, schema, name) ? { ...type, name: `${schema}.${name}` } : type;
}

/** Names of constraints and relations in `schema`, which Postgres keeps unique. */
function takenNames(model: SchemaModel, schema: string): Set<string> {
  const taken = new Set<string>();
  for (const t of model.tables) {
    if (t.schema !== schema) continue;
    taken.add(t.name);
    taken.add(t.primaryKeyName);
    for (const fk of t.foreignKeys) taken.add(fk.name);
    for (const ix of t.indexes) taken.add(ix.name);
  }
  return taken;
}

function buildTable(
  model: SchemaModel,
  ddl: Extract<DdlStatement, { kind: "create_table" }>,
  tableOid: ApplyOptions["tableOid"],
): TableModel {
  const existing = findTable(model, ddl.schema, ddl.name);
  const primaryKey = ddl.primaryKey?.columns ?? [];
  const pk = new Set(primaryKey);
  const columns: ColumnModel[] = ddl.columns.map((c) => ({
    name: c.name,
    type: resolveType(model, c.type),
    notNull: c.notNull || pk.has(c.name),
  }));
  const primaryKeyName = ddl.primaryKey?.name ?? defaultPkName(ddl.name);
  const taken = takenNames(model, ddl.schema);
  if (existing) {
    for (const fk of existing.foreignKeys) taken.delete(fk.name);
    taken.delete(existing.primaryKeyName);
  }
  taken.add(primaryKeyName);
  const foreignKeys: ForeignKeyModel[] = ddl.foreignKeys.map((fk) => {
    const name = fk.name ?? foreignKeyName(ddl.name, fk.columns, taken);
    taken.add(name);
    const self = fk.parentSchema === ddl.schema && fk.parentTable === ddl.name;
    const parentColumns = fk.parentColumns ??
      (self ? primaryKey : findTable(model, fk.parentSchema, fk.parentTable)?.primaryKey ?? []);
    return {
      name,
      columns: fk.columns,
      parentSchema: fk.parentSchema,
      parentTable: fk.parentTable,
      parentColumns,
      onDelete: fk.onDelete,
      onUpdate: fk.onUpdate,
    };
  });
  return {
    schema: ddl.schema,
    name: ddl.name,
    oid: tableOid(ddl.schema, ddl.name) ?? existing?.oid ?? 0,
    columns,
    primaryKey,
    primaryKeyName,
    foreignKeys,
    indexes: existing?.indexes ?? [],
  };
}

function addColumns(
  model: SchemaModel,
  ddl: Extract<DdlStatement, { kind: "add_column" }>,
  sql: string,
): Step {
  const before = findTable(model, ddl.schema, ddl.table);
  if (!before) {
    return {
      model,
      result: ignoredResult(`ADD COLUMN on "${ddl.schema}"."${ddl.table}", not electrified`),
    };
  }
  let table = before;
  const sqlite: string[] = [];
  const skipped: string[] = [];
  for (const decl of ddl.columns) {
    if (table.columns.some((c) => c.name === decl.name)) {
      skipped.push(decl.name);
      continue;
    }
    const column = { name: decl.name, type: resolveType(model, decl.type), notNull: decl.notNull };
    table = { ...table, columns: [...table.columns, column] };
    sqlite.push(renderAddColumn(table.name, column));
  }
  const result: MigrationStatementResult = {
    kind: "add_column",
    table,
    sqlite,
    postgres: [sql],
    stmtTypes: sqlite.map(() => "ALTER_ADD_COLUMN"),
  };
  if (skipped.length > 0) result.warning = `Columns already present: ${skipped.join(", ")}`;
  return { model: putTable(model, table), result };
}

function createIndex(
  model: SchemaModel,
  ddl: Extract<DdlStatement, { kind: "create_index" }>,
  sql: string,
): Step {
  const table = findTable(model, ddl.schema, ddl.table);
  if (!table) {
    return {
      model,
      result: ignoredResult(`CREATE INDEX on "${ddl.schema}"."${ddl.table}", not electrified`),
    };
  }
  const columns = ddl.columns.map((c) =>
    c.expression
      ? { name: c.expression.derivedName, descending: c.descending, expression: c.expression.text }
      : { name: c.column ?? "", descending: c.descending }
  );
  const name = ddl.name ??
    indexName(table.name, dedupe(columns.map((c) => c.name)), takenNames(model, ddl.schema));
  const index: IndexModel = { name, unique: ddl.unique, columns };
  if (ddl.where !== undefined) index.where = ddl.where.text;
  const indexes = [...table.indexes.filter((i) => i.name !== name), index];
  const sqlite = renderCreateIndex(table.name, {
    name,
    unique: ddl.unique,
    ifNotExists: ddl.ifNotExists,
    elements: ddl.columns.map((c) => ({
      sql: c.expression ? c.expression.sqlite : quoteIdent(c.column ?? ""),
      descending: c.descending,
    })),
    where: ddl.where?.sqlite,
  });
  return {
    model: putTable(model, { ...table, indexes }),
    result: {
      kind: "create_index",
      sqlite: [sqlite],
      postgres: [sql],
      stmtTypes: ["CREATE_INDEX"],
    },
  };
}

/** Postgres numbers repeated index column names (`x`, `x1`) before building the index name. */
function dedupe(names: string[]): string[] {
  const seen = new Set<string>();
  return names.map((n) => {
    let candidate = n;
    for (let i = 1; seen.has(candidate); i++) candidate = `${n}${i}`;
    seen.add(candidate);
    return candidate;
  });
}

function dropIndexes(model: SchemaModel, targets: { schema: string; name: string }[]): Step {
  let next = model;
  for (const target of targets) {
    const table = next.tables.find((t) =>
      t.schema === target.schema && t.indexes.some((i) => i.name === target.name)
    );
    if (!table) continue;
    next = putTable(next, {
      ...table,
      indexes: table.indexes.filter((i) => i.name !== target.name),
    });
  }
  return {
    model: next,
    result: { kind: "drop_index", sqlite: [], postgres: [], stmtTypes: [] },
  };
}
