/**
 * The introspection queries Prisma sends and the proxy answers (proxy-http-auth-config.md
 * §3.10), as a table: output keys (how a query is recognised), parameter types
 * (ParameterDescription), output columns (RowDescription) and the rows from the electrified
 * schema. Both Prisma 4.8's forms (what `electric-sql generate` runs) and the later forms
 * with extra columns are listed; views, functions, extensions and sequences always answer no
 * rows. Pure data.
 */
import type { SchemaModel } from "../../schema/mod.ts";
import {
  columnRows,
  enumRows,
  foreignKeyRows,
  indexRows,
  namespaceRows,
  namespaceVersionRows,
  tableRows,
  versionRows,
} from "./answers.ts";
import type { Cell, Column, ColumnType } from "./codec.ts";

/** What a row builder gets: the schema and the decoded `$1` (a name, or a list of names). */
export interface QueryInput {
  model: SchemaModel;
  /** `$1` of a `name` parameter. */
  name?: string;
  /** `$1` of a `name[]` parameter. */
  names: string[];
}

export interface KnownQuery {
  /** Short id for logs and tests. */
  id: string;
  /** Output keys (§3.10); empty for the version query, which is told by its text. */
  keys: string[];
  /** Parameter type OIDs: 19 name, 1003 name[]. */
  params: number[];
  columns: Column[];
  rows(input: QueryInput): Cell[][];
}

const NAME = 19;
const NAME_ARRAY = 1003;

function cols(spec: string): Column[] {
  return spec.trim().split(/\s+/).map((entry) => {
    const [name, type] = entry.split(":");
    return { name, type: type as ColumnType };
  });
}

const none = () => [];

export const VERSION_QUERY: KnownQuery = {
  id: "version",
  keys: [],
  params: [],
  columns: cols("version:text"),
  rows: versionRows,
};

const COLUMNS_48 = [
  "namespace:name table_name:name column_name:name formatted_type:text",
  "numeric_precision:int4 numeric_scale:int4 numeric_precision_radix:int4",
  "datetime_precision:int4 data_type:varchar",
].join(" ");
const COLUMNS_48_TAIL = [
  "full_data_type:name column_default:text is_nullable:varchar is_identity:varchar",
  "character_maximum_length:int4",
].join(" ");

const FK_48 = [
  "con_id:oid child_column:name parent_table:name parent_column:name confdeltype:char",
  "confupdtype:char referenced_schema_name:name constraint_name:name child:int2 parent:int2",
  "table_name:name namespace:name",
].join(" ");

const INDEX_48 = [
  "namespace:name index_name:name table_name:name column_name:name is_unique:bool",
  "is_primary_key:bool column_index:int4 opclass:name opcdefault:bool index_algo:name",
  "column_order:text",
].join(" ");

export const KNOWN_QUERIES: readonly KnownQuery[] = [
  {
    id: "namespace_version",
    keys: ["", "", "numeric_version"],
    params: [NAME],
    columns: cols("exists:bool version:text numeric_version:int4"),
    rows: ({ model, name }) => namespaceVersionRows(model, name),
  },
  {
    id: "namespaces",
    keys: ["namespace_name"],
    params: [NAME_ARRAY],
    columns: cols("namespace_name:name"),
    rows: ({ model, names }) => namespaceRows(model, names),
  },
  {
    id: "tables_4_8",
    keys: ["table_name", "namespace"],
    params: [NAME_ARRAY],
    columns: cols("table_name:name namespace:name"),
    rows: ({ model, names }) => tableRows(model, names, "4.8"),
  },
  {
    id: "tables_5_2",
    keys: [
      "table_name",
      "namespace",
      "is_partition",
      "has_subclass",
      "has_row_level_security",
      "reloptions",
      "description",
    ],
    params: [NAME_ARRAY],
    columns: cols(
      "table_name:name namespace:name is_partition:bool has_subclass:bool " +
        "has_row_level_security:bool reloptions:text_array description:text",
    ),
    rows: ({ model, names }) => tableRows(model, names, "5.2"),
  },
  {
    id: "check_constraints",
    keys: [
      "namespace",
      "table_name",
      "constraint_name",
      "constraint_type",
      "constraint_definition",
      "is_deferrable",
      "is_deferred",
    ],
    params: [NAME_ARRAY],
    columns: cols(
      "namespace:name table_name:name constraint_name:name constraint_type:char " +
        "constraint_definition:text is_deferrable:bool is_deferred:bool",
    ),
    rows: none, // electrified tables cannot have CHECK constraints
  },
  {
    id: "enums_4_8",
    keys: ["name", "value", "namespace"],
    params: [NAME_ARRAY],
    columns: cols("name:name value:name namespace:name"),
    rows: ({ model, names }) => enumRows(model, names, "4.8"),
  },
  {
    id: "enums_5_2",
    keys: ["name", "value", "namespace", "description"],
    params: [NAME_ARRAY],
    columns: cols("name:name value:name namespace:name description:text"),
    rows: ({ model, names }) => enumRows(model, names, "5.2"),
  },
  {
    id: "columns_4_8",
    keys: [
      "oid.namespace",
      "info.table_name",
      "info.column_name",
      "formatted_type",
      "info.numeric_precision",
      "info.numeric_scale",
      "info.numeric_precision_radix",
      "info.datetime_precision",
      "info.data_type",
      "full_data_type",
      "column_default",
      "info.is_nullable",
      "info.is_identity",
      "info.character_maximum_length",
    ],
    params: [NAME_ARRAY],
    columns: cols(`${COLUMNS_48} ${COLUMNS_48_TAIL}`),
    rows: ({ model, names }) => columnRows(model, names, "4.8"),
  },
  {
    id: "columns_5_2",
    keys: [
      "oid.namespace",
      "info.table_name",
      "info.column_name",
      "formatted_type",
      "info.numeric_precision",
      "info.numeric_scale",
      "info.numeric_precision_radix",
      "info.datetime_precision",
      "info.data_type",
      "type_schema_name",
      "full_data_type",
      "column_default",
      "info.is_nullable",
      "info.is_identity",
      "info.character_maximum_length",
      "description",
    ],
    params: [NAME_ARRAY],
    columns: cols(`${COLUMNS_48} type_schema_name:name ${COLUMNS_48_TAIL} description:text`),
    rows: ({ model, names }) => columnRows(model, names, "5.2"),
  },
  {
    id: "foreign_keys_4_8",
    keys: [
      "con_id",
      "child_column",
      "parent_table",
      "parent_column",
      "con.confdeltype",
      "con.confupdtype",
      "referenced_schema_name",
      "constraint_name",
      "child",
      "parent",
      "table_name",
      "namespace",
    ],
    params: [NAME_ARRAY],
    columns: cols(FK_48),
    rows: ({ model, names }) => foreignKeyRows(model, names, "4.8"),
  },
  {
    id: "foreign_keys_5_2",
    keys: [
      "con_id",
      "child_column",
      "parent_table",
      "parent_column",
      "con.confdeltype",
      "con.confupdtype",
      "referenced_schema_name",
      "constraint_name",
      "child",
      "parent",
      "table_name",
      "namespace",
      "condeferrable",
      "condeferred",
    ],
    params: [NAME_ARRAY],
    columns: cols(`${FK_48} condeferrable:bool condeferred:bool`),
    rows: ({ model, names }) => foreignKeyRows(model, names, "5.2"),
  },
  {
    id: "indexes_4_8",
    keys: [
      "namespace",
      "index_name",
      "table_name",
      "column_name",
      "is_unique",
      "is_primary_key",
      "column_index",
      "opclass",
      "opcdefault",
      "index_algo",
      "column_order",
    ],
    params: [NAME_ARRAY],
    columns: cols(INDEX_48),
    rows: ({ model, names }) => indexRows(model, names, "4.8"),
  },
  {
    id: "indexes_5_2",
    keys: [
      "namespace",
      "index_name",
      "table_name",
      "column_name",
      "is_unique",
      "is_primary_key",
      "column_index",
      "opclass",
      "opcdefault",
      "index_algo",
      "column_order",
      "nulls_first",
      "condeferrable",
      "condeferred",
    ],
    params: [NAME_ARRAY],
    columns: cols(`${INDEX_48} nulls_first:bool condeferrable:bool condeferred:bool`),
    rows: ({ model, names }) => indexRows(model, names, "5.2"),
  },
  {
    id: "views_4_8",
    keys: ["view_name", "view_sql", "namespace"],
    params: [NAME_ARRAY],
    columns: cols("view_name:name view_sql:text namespace:name"),
    rows: none,
  },
  {
    id: "views_5_2",
    keys: ["view_name", "view_sql", "namespace", "description"],
    params: [NAME_ARRAY],
    columns: cols("view_name:name view_sql:text namespace:name description:text"),
    rows: none,
  },
  {
    id: "functions",
    keys: ["name", "namespace", "definition"],
    params: [NAME_ARRAY],
    columns: cols("name:name namespace:name definition:text"),
    rows: none,
  },
  {
    id: "extensions",
    keys: ["extension_name", "extension_version", "extension_relocatable", "extension_schema"],
    params: [],
    columns: cols(
      "extension_name:name extension_version:text extension_relocatable:bool " +
        "extension_schema:name",
    ),
    rows: none,
  },
  {
    id: "sequences",
    keys: [
      "sequence_name",
      "namespace",
      "",
      "min_value",
      "max_value",
      "increment_by",
      "cycle",
      "cache_size",
    ],
    params: [NAME_ARRAY],
    columns: cols(
      "sequence_name:name namespace:name start_value:int8 min_value:int8 max_value:int8 " +
        "increment_by:int8 cycle:bool cache_size:int8",
    ),
    rows: none,
  },
];
