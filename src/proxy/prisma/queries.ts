/**
 * The introspection queries Prisma sends and the proxy answers (proxy-http-auth-config.md
 * §3.10), as a table: output keys (how a query is recognised), parameter types
 * (ParameterDescription), output columns (RowDescription) and the rows from the electrified
 * schema. Where Prisma 5.2 asks more than 4.8 (what `electric-sql generate` runs), the 4.8
 * form is listed with the columns 5.2 adds (`bothForms`), and both forms are known; views,
 * functions, extensions and sequences always answer no rows. Pure data.
 */
import type { SchemaModel } from "../../schema/mod.ts";
import {
  columnRows,
  enumRows,
  foreignKeyRows,
  type Form,
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

/**
 * A query's Prisma 4.8 form (`<id>_4_8`) and its 5.2 form (`<id>_5_2`): the 4.8 output keys
 * and columns with the ones 5.2 `adds`, each at the end or after the key `after`. Each key
 * names its column, and an added column's key is its name.
 */
function bothForms(id: string, form: {
  keys: string[];
  columns: string;
  adds: { columns: string; after?: string }[];
  rows: (model: SchemaModel, names: string[], form: Form) => Cell[][];
}): KnownQuery[] {
  const keys = [...form.keys];
  const columns = cols(form.columns);
  for (const added of form.adds) {
    const more = cols(added.columns);
    const at = added.after === undefined ? keys.length : keys.indexOf(added.after) + 1;
    if (at === 0) throw new Error(`No key "${added.after}" in query "${id}"`);
    keys.splice(at, 0, ...more.map((c) => c.name));
    columns.splice(at, 0, ...more);
  }
  return [
    {
      id: `${id}_4_8`,
      keys: form.keys,
      params: [NAME_ARRAY],
      columns: cols(form.columns),
      rows: ({ model, names }) => form.rows(model, names, "4.8"),
    },
    {
      id: `${id}_5_2`,
      keys,
      params: [NAME_ARRAY],
      columns,
      rows: ({ model, names }) => form.rows(model, names, "5.2"),
    },
  ];
}

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
  ...bothForms("tables", {
    keys: ["table_name", "namespace"],
    columns: "table_name:name namespace:name",
    adds: [{
      columns: "is_partition:bool has_subclass:bool has_row_level_security:bool " +
        "reloptions:text_array description:text",
    }],
    rows: tableRows,
  }),
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
  ...bothForms("enums", {
    keys: ["name", "value", "namespace"],
    columns: "name:name value:name namespace:name",
    adds: [{ columns: "description:text" }],
    rows: enumRows,
  }),
  ...bothForms("columns", {
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
    columns: [
      "namespace:name table_name:name column_name:name formatted_type:text",
      "numeric_precision:int4 numeric_scale:int4 numeric_precision_radix:int4",
      "datetime_precision:int4 data_type:varchar full_data_type:name column_default:text",
      "is_nullable:varchar is_identity:varchar character_maximum_length:int4",
    ].join(" "),
    adds: [
      { columns: "type_schema_name:name", after: "info.data_type" },
      { columns: "description:text" },
    ],
    rows: columnRows,
  }),
  ...bothForms("foreign_keys", {
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
    columns: [
      "con_id:oid child_column:name parent_table:name parent_column:name confdeltype:char",
      "confupdtype:char referenced_schema_name:name constraint_name:name child:int2 parent:int2",
      "table_name:name namespace:name",
    ].join(" "),
    adds: [{ columns: "condeferrable:bool condeferred:bool" }],
    rows: foreignKeyRows,
  }),
  ...bothForms("indexes", {
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
    columns: [
      "namespace:name index_name:name table_name:name column_name:name is_unique:bool",
      "is_primary_key:bool column_index:int4 opclass:name opcdefault:bool index_algo:name",
      "column_order:text",
    ].join(" "),
    adds: [{ columns: "nulls_first:bool condeferrable:bool condeferred:bool" }],
    rows: indexRows,
  }),
  ...bothForms("views", {
    keys: ["view_name", "view_sql", "namespace"],
    columns: "view_name:name view_sql:text namespace:name",
    adds: [{ columns: "description:text" }],
    rows: none,
  }),
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
