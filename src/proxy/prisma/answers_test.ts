import { test } from "node:test";
import assert from "node:assert/strict";
import type { PgType, SchemaModel, TableModel } from "../../schema/mod.ts";
import {
  columnRows,
  enumRows,
  foreignKeyRows,
  indexRows,
  namespaceRows,
  namespaceVersionRows,
  tableRows,
} from "./answers.ts";
import {
  bookAuthorKey,
  COLOUR_ROWS,
  indexRow,
  primaryKeyRow,
  TYPE_FIELDS,
} from "../../../tests/helpers/prisma_rows.ts";

const t = (name: string, size: number[] = [], array: number[] = []): PgType => ({
  name,
  size,
  array,
});

const authors: TableModel = {
  schema: "public",
  name: "authors",
  oid: 16400,
  columns: [
    { name: "id", type: t("uuid"), notNull: true },
    { name: "name", type: t("varchar", [80]), notNull: true },
  ],
  primaryKey: ["id"],
  primaryKeyName: "authors_pkey",
  foreignKeys: [],
  indexes: [],
};

const books: TableModel = {
  schema: "public",
  name: "books",
  oid: 16410,
  columns: [
    { name: "id", type: t("int8"), notNull: true },
    { name: "title", type: t("text"), notNull: false },
    { name: "pages", type: t("int4"), notNull: false },
    { name: "rank", type: t("int2"), notNull: false },
    { name: "price", type: t("numeric", [10, 2]), notNull: false },
    { name: "published", type: t("timestamptz", [3]), notNull: false },
    { name: "added", type: t("timestamptz"), notNull: false },
    { name: "tags", type: t("text", [], [-1]), notNull: false },
    { name: "colour", type: t("public.colour"), notNull: false },
    { name: "author_id", type: t("uuid"), notNull: true },
    { name: "flag", type: t("bool"), notNull: false },
    { name: "ratio", type: t("float8"), notNull: false },
    { name: "day", type: t("date"), notNull: false },
  ],
  primaryKey: ["id"],
  primaryKeyName: "books_pkey",
  foreignKeys: [{
    name: "books_author_id_fkey",
    columns: ["author_id"],
    parentSchema: "public",
    parentTable: "authors",
    parentColumns: ["id"],
    onDelete: "CASCADE",
    onUpdate: "NO ACTION",
  }, {
    name: "books_ghost_fkey",
    columns: ["rank"],
    parentSchema: "public",
    parentTable: "not_electrified",
    parentColumns: ["id"],
    onDelete: "NO ACTION",
    onUpdate: "NO ACTION",
  }],
  indexes: [
    { name: "books_title_idx", unique: true, columns: [{ name: "title", descending: false }] },
    {
      name: "books_pages_rank_idx",
      unique: false,
      columns: [{ name: "rank", descending: true }, { name: "pages", descending: false }],
    },
    {
      name: "books_lower_idx",
      unique: false,
      columns: [{ name: "lower", descending: false, expression: "lower(title)" }],
    },
    {
      name: "books_partial_idx",
      unique: false,
      columns: [{ name: "pages", descending: false }],
      where: "pages > 0",
    },
  ],
};

const other: TableModel = { ...authors, schema: "other", name: "elsewhere", foreignKeys: [] };

const model: SchemaModel = {
  version: "1",
  tables: [books, authors, other],
  enums: [
    { schema: "public", name: "colour", values: ["red", "green", "blue"] },
    { schema: "other", name: "mood", values: ["up"] },
  ],
};

test("schema and table queries see the electrified tables of the requested schemas", () => {
  assert.deepEqual(namespaceVersionRows(model, "public"), [[
    true,
    "PostgreSQL 14.9 Electric",
    140009,
  ]]);
  assert.deepEqual(namespaceVersionRows(model, "nope")[0][0], false);
  assert.deepEqual(namespaceRows(model, ["public", "nope", "other", "public"]), [["other"], [
    "public",
  ]]);
  assert.deepEqual(tableRows(model, ["public"], "4.8"), [["authors", "public"], [
    "books",
    "public",
  ]]);
  assert.deepEqual(tableRows(model, ["other"], "5.2"), [
    ["elsewhere", "other", false, false, false, null, null],
  ]);
  assert.deepEqual(tableRows(model, [], "4.8"), []);
});

test("enum values in enum order", () => {
  assert.deepEqual(enumRows(model, ["public"], "4.8"), COLOUR_ROWS);
  assert.deepEqual(enumRows(model, ["other"], "5.2"), [["mood", "up", "other", null]]);
});

test("columns as information_schema describes them, by schema, table and position", () => {
  const rows = columnRows(model, ["public"], "4.8");
  assert.deepEqual(rows.map((r) => `${r[1]}.${r[2]}`), [
    "authors.id",
    "authors.name",
    ...books.columns.map((c) => `books.${c.name}`),
  ]);
  const byName = new Map(rows.map((r) => [`${r[1]}.${r[2]}`, r]));
  // namespace, table, column, formatted_type, precision, scale, radix, datetime_precision,
  // data_type, full_data_type, column_default, is_nullable, is_identity, char max length
  assert.deepEqual(byName.get("authors.name"), [
    "public",
    "authors",
    "name",
    "character varying(80)",
    null,
    null,
    null,
    null,
    "character varying",
    "varchar",
    null,
    "NO",
    "NO",
    80,
  ]);
  assert.deepEqual(byName.get("books.id")!.slice(3, 10), TYPE_FIELDS.int8);
  assert.deepEqual(byName.get("books.pages")!.slice(3, 12), [...TYPE_FIELDS.int4, null, "YES"]);
  assert.deepEqual(byName.get("books.rank")!.slice(3, 10), TYPE_FIELDS.int2);
  assert.deepEqual(byName.get("books.price")!.slice(3, 10), [
    "numeric(10,2)",
    10,
    2,
    10,
    null,
    "numeric",
    "numeric",
  ]);
  assert.deepEqual(byName.get("books.published")!.slice(3, 10), [
    "timestamp(3) with time zone",
    null,
    null,
    null,
    3,
    "timestamp with time zone",
    "timestamptz",
  ]);
  assert.deepEqual(byName.get("books.added")!.slice(3, 10), TYPE_FIELDS.timestamptz);
  assert.deepEqual(byName.get("books.tags")!.slice(3, 14), [
    "text[]",
    null,
    null,
    null,
    null,
    "ARRAY",
    "_text",
    null,
    "YES",
    "NO",
    null,
  ]);
  assert.deepEqual(byName.get("books.colour")!.slice(3, 10), TYPE_FIELDS.colour);
  assert.deepEqual(byName.get("books.flag")!.slice(3, 10), [
    "boolean",
    null,
    null,
    null,
    null,
    "boolean",
    "bool",
  ]);
  assert.deepEqual(byName.get("books.ratio")!.slice(3, 10), [
    "double precision",
    null,
    null,
    null,
    null,
    "double precision",
    "float8",
  ]);
  assert.deepEqual(byName.get("books.day")!.slice(7, 9), [0, "date"]);
  assert.equal(byName.get("books.title")![13], null); // text has no maximum length

  const later = columnRows(model, ["public"], "5.2");
  const colour = later.find((r) => r[2] === "colour")!;
  assert.equal(colour.length, 16);
  assert.equal(colour[9], "public"); // type_schema_name
  assert.equal(later.find((r) => r[2] === "id")![9], "pg_catalog");
  assert.equal(colour[15], null); // description
});

test("foreign keys: one row per column pair; keys to tables not electrified are left out", () => {
  const rows = foreignKeyRows(model, ["public"], "4.8");
  assert.equal(rows.length, 1);
  const [conId, ...rest] = rows[0];
  assert.equal(typeof conId, "number");
  // child_column, parent_table, parent_column, confdeltype, confupdtype, referenced schema,
  // constraint, child (referenced column position), parent (local position), table, namespace
  assert.deepEqual(rest, bookAuthorKey(10));
  assert.deepEqual(foreignKeyRows(model, ["public"], "5.2")[0].slice(12), [false, false]);
  assert.deepEqual(foreignKeyRows(model, ["other"], "4.8"), []);
});

test("indexes: primary keys and plain indexes per column, without expression or partial ones", () => {
  const rows = indexRows(model, ["public"], "4.8");
  assert.deepEqual(rows, [
    primaryKeyRow("authors", "uuid_ops"),
    indexRow("books", "books_pages_rank_idx", {
      column: "rank",
      unique: false,
      primary: false,
      opclass: "int2_ops",
      order: "DESC",
    }),
    indexRow("books", "books_pages_rank_idx", {
      column: "pages",
      unique: false,
      primary: false,
      opclass: "int4_ops",
      position: 1,
    }),
    primaryKeyRow("books", "int8_ops"),
    indexRow("books", "books_title_idx", {
      column: "title",
      unique: true,
      primary: false,
      opclass: "text_ops",
    }),
  ]);
  const later = indexRows(model, ["public"], "5.2");
  assert.deepEqual(later[0].slice(11), [false, false, false]); // a primary key
  assert.deepEqual(later[1].slice(11), [true, null, null]); // DESC: nulls first, not a constraint
});
