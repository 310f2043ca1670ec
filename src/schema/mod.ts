/**
 * The electrified schema: the model of electrified tables and enums, DDL parsing with the
 * real Postgres parser (libpg-query, loaded as WASM; see wasm.ts for how it loads under Deno,
 * Bun and a compiled binary), applying captured migrations to the model, and the SQLite and
 * Postgres dialects sent to clients.
 * Must not do I/O beyond loading the parser: callers fetch captured DDL and table OIDs, persist
 * the serialized model, and encode `SatOpMigrateData` as protobuf.
 */
export {
  type ColumnModel,
  DEFAULT_SCHEMA,
  EMPTY_SCHEMA,
  type EnumModel,
  findEnum,
  findTable,
  type FkAction,
  type ForeignKeyModel,
  type IndexModel,
  isEnumType,
  type PgType,
  type SchemaModel,
  type TableModel,
} from "./model.ts";
export {
  type ParsedStatement,
  type ParseOutcome,
  parseStatements,
  scanTokens,
  type SyntaxError,
} from "./parse.ts";
export {
  applyMigration,
  type ApplyOptions,
  type ApplyOutcome,
  type MigrationStatementResult,
  type StmtType,
} from "./apply.ts";
export {
  type Dialect,
  migrationSqlFile,
  type SatOpMigrateData,
  satOpMigrateFor,
  type SatTableData,
  satTableFor,
} from "./sat_op_migrate.ts";
export {
  checkColumnType,
  type ColumnTypeCheck,
  formatPgType,
  parseTypeText,
  pgTypeFromAst,
  sqliteTypeFor,
} from "./pg_types.ts";
export { quoteIdent } from "./sqlite.ts";
export {
  deserializeSchema,
  readSchema,
  SCHEMA_FORMAT,
  SchemaFormatError,
  type SchemaReadResult,
  serializeSchema,
} from "./serialize.ts";
