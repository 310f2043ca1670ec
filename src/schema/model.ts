/**
 * The electrified schema as the service sees it: tables (columns, primary key, foreign keys,
 * indexes) and enum types. Values are plain, immutable-by-convention data: every change
 * builds a new model, so a version that was saved can be kept as it is.
 */

/**
 * A column type. `name` is the canonical short Postgres name (`int4`, `varchar`,
 * `timestamptz`, ...) or, for an enum, the schema-qualified type name (`public.colour`).
 * `array` holds one entry per array dimension (-1 when unsized), `size` the type modifiers.
 */
export interface PgType {
  name: string;
  array: number[];
  size: number[];
}

export interface ColumnModel {
  name: string;
  type: PgType;
  notNull: boolean;
}

export type FkAction = "NO ACTION" | "RESTRICT" | "CASCADE" | "SET NULL" | "SET DEFAULT";

export interface ForeignKeyModel {
  name: string;
  columns: string[];
  parentSchema: string;
  parentTable: string;
  parentColumns: string[];
  onDelete: FkAction;
  onUpdate: FkAction;
}

export interface IndexModel {
  name: string;
  unique: boolean;
  /** Plain columns carry their name; expression elements carry the expression's source text
   * in `expression` and the name Postgres derives for it in `name`. */
  columns: { name: string; descending: boolean; expression?: string }[];
  /** The predicate's source text, for a partial index. */
  where?: string;
}

export interface TableModel {
  schema: string;
  name: string;
  /** The table's real Postgres OID (0 when it could not be looked up). */
  oid: number;
  columns: ColumnModel[];
  primaryKey: string[];
  primaryKeyName: string;
  foreignKeys: ForeignKeyModel[];
  indexes: IndexModel[];
}

export interface EnumModel {
  schema: string;
  name: string;
  values: string[];
}

export interface SchemaModel {
  /** The migration version the model is at; null before the first migration. */
  version: string | null;
  tables: TableModel[];
  enums: EnumModel[];
}

export const DEFAULT_SCHEMA = "public";

export const EMPTY_SCHEMA: SchemaModel = Object.freeze({
  version: null,
  tables: [],
  enums: [],
}) as SchemaModel;

export function findTable(
  model: SchemaModel,
  schema: string,
  name: string,
): TableModel | undefined {
  return model.tables.find((t) => t.schema === schema && t.name === name);
}

export function findEnum(model: SchemaModel, schema: string, name: string): EnumModel | undefined {
  return model.enums.find((e) => e.schema === schema && e.name === name);
}

/** Whether a column type names one of the model's enums (`schema.name`). */
export function isEnumType(model: SchemaModel, type: PgType): boolean {
  return model.enums.some((e) => `${e.schema}.${e.name}` === type.name);
}

/** The model with `table` added, or replacing the table of the same schema and name. */
export function putTable(model: SchemaModel, table: TableModel): SchemaModel {
  const i = model.tables.findIndex((t) => t.schema === table.schema && t.name === table.name);
  const tables = i < 0 ? [...model.tables, table] : model.tables.with(i, table);
  return { ...model, tables };
}

/** The model with `type` added, or replacing the enum of the same schema and name. */
export function putEnum(model: SchemaModel, type: EnumModel): SchemaModel {
  const i = model.enums.findIndex((e) => e.schema === type.schema && e.name === type.name);
  const enums = i < 0 ? [...model.enums, type] : model.enums.with(i, type);
  return { ...model, enums };
}
