/**
 * What clients receive for a migration, as plain data: the content of one `SatOpMigrate` per
 * captured statement text (postgres-side.md §5.1), and the `migration.sql` file of
 * `/api/migrations` (proxy-http-auth-config.md §2.3). Protobuf encoding happens elsewhere.
 */
import type { MigrationStatementResult, StmtType } from "./apply.ts";
import type { PgType, TableModel } from "./model.ts";
import { columnSqliteType, sortedForeignKeys } from "./sqlite.ts";

export type Dialect = "sqlite" | "postgresql";

export interface SatTableData {
  name: string;
  columns: { name: string; sqliteType: string; pgType: PgType }[];
  fks: { fkCols: string[]; pkTable: string; pkCols: string[] }[];
  pks: string[];
}

export interface SatOpMigrateData {
  version: string;
  stmts: { type: StmtType; sql: string }[];
  table?: SatTableData;
  enumType?: { name: string; values: string[] };
}

const POSTGRES_STMT_TYPE: Partial<Record<MigrationStatementResult["kind"], StmtType>> = {
  create_table: "CREATE_TABLE",
  add_column: "ALTER_ADD_COLUMN",
  create_index: "CREATE_INDEX",
  create_enum: "CREATE_ENUM_TYPE",
};

/**
 * The `SatOpMigrate` for the statements of one captured text, or undefined when none of them
 * propagates (only DROP INDEX or ignored statements). The affected entity is the last table
 * created or altered; failing that, the last enum.
 */
export function satOpMigrateFor(
  version: string,
  results: MigrationStatementResult[],
  dialect: Dialect,
): SatOpMigrateData | undefined {
  const stmts: SatOpMigrateData["stmts"] = [];
  let table: TableModel | undefined;
  let enumType: SatOpMigrateData["enumType"];
  let propagates = false;
  for (const r of results) {
    if (dialect === "sqlite") {
      r.sqlite.forEach((sql, i) => stmts.push({ type: r.stmtTypes[i], sql }));
    } else {
      const type = POSTGRES_STMT_TYPE[r.kind];
      if (type) { for (const sql of r.postgres) stmts.push({ type, sql }); }
    }
    if (r.table) table = r.table;
    if (r.enumType) enumType = { name: r.enumType.name, values: [...r.enumType.values] };
    if (r.kind !== "drop_index" && r.kind !== "ignored") propagates = true;
  }
  if (!propagates) return undefined;
  const op: SatOpMigrateData = { version, stmts };
  if (table) op.table = satTableFor(table);
  else if (enumType) op.enumType = enumType;
  return op;
}

/** The complete table definition sent with CREATE TABLE and ADD COLUMN; names unqualified. */
export function satTableFor(table: TableModel): SatTableData {
  return {
    name: table.name,
    columns: table.columns.map((c) => ({
      name: c.name,
      sqliteType: columnSqliteType(c),
      pgType: { name: c.type.name, array: [...c.type.array], size: [...c.type.size] },
    })),
    fks: sortedForeignKeys(table.foreignKeys).map((fk) => ({
      fkCols: [...fk.columns],
      pkTable: fk.parentTable,
      pkCols: [...fk.parentColumns],
    })),
    pks: [...table.primaryKey],
  };
}

/** `migration.sql`: every statement trimmed, `;`-terminated, joined by a blank line. */
export function migrationSqlFile(ops: SatOpMigrateData[]): string {
  return ops
    .flatMap((op) => op.stmts)
    .map(({ sql }) => {
      const trimmed = sql.trimEnd();
      return trimmed.endsWith(";") ? trimmed : `${trimmed};`;
    })
    .join("\n\n");
}
