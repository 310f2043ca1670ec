/**
 * Expected rows of the Prisma introspection answers, shared by the unit test of the answers
 * (`src/proxy/prisma/answers_test.ts`) and the replay through the running service
 * (`tests/e2e/proxy_prisma_test.ts`). Both describe the same `authors`/`books` schema in
 * `public`; where they differ (lengths, index order, key positions) the caller says so.
 */

/** `formatted_type` … `full_data_type` (fields 3–9 of a `columns_4_8` row) by Postgres type. */
export const TYPE_FIELDS = {
  uuid: ["uuid", null, null, null, null, "uuid", "uuid"],
  varchar: [
    "character varying",
    null,
    null,
    null,
    null,
    "character varying",
    "varchar",
  ],
  text: ["text", null, null, null, null, "text", "text"],
  int8: ["bigint", 64, 0, 2, null, "bigint", "int8"],
  int4: ["integer", 32, 0, 2, null, "integer", "int4"],
  int2: ["smallint", 16, 0, 2, null, "smallint", "int2"],
  timestamptz: [
    "timestamp with time zone",
    null,
    null,
    null,
    6,
    "timestamp with time zone",
    "timestamptz",
  ],
  colour: ["colour", null, null, null, null, "USER-DEFINED", "colour"],
} as const;

/** A whole `columns_4_8` row of a `public` column without default, identity or length. */
export function columnRow(
  table: string,
  column: string,
  options: { type: keyof typeof TYPE_FIELDS; nullable: "YES" | "NO" },
): unknown[] {
  return [
    "public",
    table,
    column,
    ...TYPE_FIELDS[options.type],
    null,
    options.nullable,
    "NO",
    null,
  ];
}

/** A whole `indexes_4_8` row of a `public` btree index column with the default opclass. */
export function indexRow(
  table: string,
  index: string,
  options: {
    column: string;
    unique: boolean;
    primary: boolean;
    opclass: string;
    position?: number;
    order?: "ASC" | "DESC";
  },
): unknown[] {
  const { column, unique, primary, opclass, position = 0, order = "ASC" } = options;
  return ["public", index, table, column, unique, primary, position, opclass, true, "btree", order];
}

/** The `indexes_4_8` row of `<table>_pkey` on `id`. */
export function primaryKeyRow(table: string, opclass: string): unknown[] {
  return indexRow(table, `${table}_pkey`, { column: "id", unique: true, primary: true, opclass });
}

/** `books.author_id → authors.id` as a `foreign_keys_4_8` row after `con_id`. */
export function bookAuthorKey(localPosition: number): unknown[] {
  return [
    "author_id",
    "authors",
    "id",
    "c",
    "a",
    "public",
    "books_author_id_fkey",
    1,
    localPosition,
    "books",
    "public",
  ];
}

/** The `enums_4_8` rows of `colour`, in enum order. */
export const COLOUR_ROWS = [
  ["colour", "red", "public"],
  ["colour", "green", "public"],
  ["colour", "blue", "public"],
];
