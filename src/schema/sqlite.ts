/**
 * The SQLite dialect: the statements SQLite clients receive for CREATE TABLE, ADD COLUMN and
 * CREATE INDEX (postgres-side.md §5.3). Schema names are dropped and every identifier is
 * double-quoted. Each rendered statement ends with `;` and a newline, as the reference does.
 */
import type { ColumnModel, ForeignKeyModel, TableModel } from "./model.ts";
import { sqliteTypeFor } from "./pg_types.ts";

export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

function quoteList(names: string[]): string {
  return names.map(quoteIdent).join(", ");
}

/** Enum types are the only schema-qualified type names in the model. */
export function columnSqliteType(column: ColumnModel): string {
  return sqliteTypeFor(column.type, column.type.name.includes("."));
}

/** Foreign keys in the order constraints are rendered: by their column lists. */
export function sortedForeignKeys(fks: ForeignKeyModel[]): ForeignKeyModel[] {
  return [...fks].sort((a, b) => compareLists(a.columns, b.columns));
}

function compareLists(a: string[], b: string[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    if (a[i] !== b[i]) return a[i] < b[i] ? -1 : 1;
  }
  return a.length - b.length;
}

export function renderCreateTable(table: TableModel): string {
  const pk = new Set(table.primaryKey);
  const lines = table.columns.map((c) => {
    const notNull = c.notNull || pk.has(c.name) ? " NOT NULL" : "";
    return `  ${quoteIdent(c.name)} ${columnSqliteType(c)}${notNull}`;
  });
  for (const fk of sortedForeignKeys(table.foreignKeys)) lines.push(`  ${foreignKeyClause(fk)}`);
  if (table.primaryKey.length > 0) {
    lines.push(
      `  CONSTRAINT ${quoteIdent(table.primaryKeyName)} PRIMARY KEY (${
        quoteList(table.primaryKey)
      })`,
    );
  }
  return `CREATE TABLE ${quoteIdent(table.name)} (\n${lines.join(",\n")}\n);\n`;
}

function foreignKeyClause(fk: ForeignKeyModel): string {
  let out = `CONSTRAINT ${quoteIdent(fk.name)} FOREIGN KEY (${quoteList(fk.columns)}) ` +
    `REFERENCES ${quoteIdent(fk.parentTable)} (${quoteList(fk.parentColumns)})`;
  if (fk.onDelete !== "NO ACTION") out += ` ON DELETE ${fk.onDelete}`;
  if (fk.onUpdate !== "NO ACTION") out += ` ON UPDATE ${fk.onUpdate}`;
  return out;
}

export function renderAddColumn(table: string, column: ColumnModel): string {
  const notNull = column.notNull ? " NOT NULL" : "";
  return `ALTER TABLE ${quoteIdent(table)} ADD COLUMN ${quoteIdent(column.name)} ` +
    `${columnSqliteType(column)}${notNull};\n`;
}

/** What a CREATE INDEX renders from: names and expressions already in SQLite form. */
export interface SqliteIndex {
  name: string;
  unique: boolean;
  ifNotExists: boolean;
  /** Quoted column names or rendered expressions. */
  elements: { sql: string; descending: boolean }[];
  where?: string;
}

/** CONCURRENTLY and the access method have no SQLite meaning and are dropped. */
export function renderCreateIndex(table: string, index: SqliteIndex): string {
  const columns = index.elements.map((c) => `${c.sql} ${c.descending ? "DESC" : "ASC"}`);
  const unique = index.unique ? " UNIQUE" : "";
  const ifNotExists = index.ifNotExists ? " IF NOT EXISTS" : "";
  const where = index.where ? ` WHERE ${index.where}` : "";
  return `CREATE${unique} INDEX${ifNotExists} ${quoteIdent(index.name)} ON ${quoteIdent(table)} ` +
    `(${columns.join(", ")})${where};\n`;
}
