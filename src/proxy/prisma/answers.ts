/**
 * The rows of each introspection answer, built from the service's electrified schema
 * (proxy-http-auth-config.md §3.10): only electrified tables, their columns, primary keys,
 * foreign keys and plain indexes, and the schema's enums are visible. Rows come sorted the way
 * the real queries' `ORDER BY` sorts them. Pure.
 *
 * Electrification refuses defaults, CHECK and UNIQUE constraints (postgres-side.md §3.2), so
 * the model has none: `column_default` is always NULL and the constraints answer is empty.
 */
import type { SchemaModel, TableModel } from "../../schema/mod.ts";
import type { Cell } from "./codec.ts";
import {
  characterMaximumLength,
  dataType,
  datetimePrecision,
  formattedType,
  fullDataType,
  numericPrecision,
  opclass,
  typeSchema,
} from "./pg_columns.ts";

/** `version()` and `server_version_num` as the proxy reports them. */
export const SERVER_VERSION = "PostgreSQL 14.9 Electric";
export const SERVER_VERSION_NUM = 140009;

/** Which form of a query was asked: Prisma 4.8's or the later one with more columns. */
export type Form = "4.8" | "5.2";

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

function compareBy<T>(...keys: ((row: T) => string | number)[]) {
  return (a: T, b: T) => {
    for (const key of keys) {
      const x = key(a);
      const y = key(b);
      const c = typeof x === "number" && typeof y === "number"
        ? x - y
        : compare(String(x), String(y));
      if (c !== 0) return c;
    }
    return 0;
  };
}

/** Electrified tables in the requested schemas, by schema then name. */
export function tablesIn(model: SchemaModel, namespaces: string[]): TableModel[] {
  return model.tables
    .filter((t) => namespaces.includes(t.schema))
    .sort(compareBy((t) => t.schema, (t) => t.name));
}

export function versionRows(): Cell[][] {
  return [[SERVER_VERSION]];
}

/** `EXISTS(… nspname = $1), version(), numeric_version`. */
export function namespaceVersionRows(model: SchemaModel, namespace: string | undefined): Cell[][] {
  const exists = model.tables.some((t) => t.schema === namespace);
  return [[exists, SERVER_VERSION, SERVER_VERSION_NUM]];
}

/** The requested schemas that hold electrified tables, sorted. */
export function namespaceRows(model: SchemaModel, namespaces: string[]): Cell[][] {
  return [...new Set(namespaces)]
    .filter((n) => model.tables.some((t) => t.schema === n))
    .sort(compare)
    .map((n) => [n]);
}

export function tableRows(model: SchemaModel, namespaces: string[], form: Form): Cell[][] {
  return tablesIn(model, namespaces).map((t) =>
    form === "4.8" ? [t.name, t.schema] : [t.name, t.schema, false, false, false, null, null]
  );
}

/** One row per enum value, in enum order. */
export function enumRows(model: SchemaModel, namespaces: string[], form: Form): Cell[][] {
  return model.enums
    .filter((e) => namespaces.includes(e.schema))
    .flatMap((e) =>
      e.values.map((v) => form === "4.8" ? [e.name, v, e.schema] : [e.name, v, e.schema, null])
    );
}

export function columnRows(model: SchemaModel, namespaces: string[], form: Form): Cell[][] {
  return tablesIn(model, namespaces).flatMap((table) =>
    table.columns.map((column) => {
      const type = column.type;
      const [precision, scale, radix] = numericPrecision(type);
      const head: Cell[] = [
        table.schema,
        table.name,
        column.name,
        formattedType(type),
        precision,
        scale,
        radix,
        datetimePrecision(type),
        dataType(type),
      ];
      const tail: Cell[] = [
        fullDataType(type),
        null, // column_default: electrified columns have none
        column.notNull ? "NO" : "YES",
        "NO", // is_identity
        characterMaximumLength(type),
      ];
      return form === "4.8" ? [...head, ...tail] : [...head, typeSchema(type), ...tail, null];
    })
  );
}

const FK_ACTIONS: Record<string, string> = {
  "NO ACTION": "a",
  RESTRICT: "r",
  CASCADE: "c",
  "SET NULL": "n",
  "SET DEFAULT": "d",
};

/** Constraint ids: any stable number unique per constraint within one answer. */
const FK_ID_BASE = 2_000_000;

/**
 * One row per column pair of each foreign key. `child` is the position of the referenced
 * column and `parent` that of the local one (named the other way round, as the reference
 * does). Keys to tables outside the electrified schema are left out: Prisma could not
 * resolve them.
 */
export function foreignKeyRows(model: SchemaModel, namespaces: string[], form: Form): Cell[][] {
  const ids = new Map<object, number>();
  for (const table of model.tables) {
    for (const fk of table.foreignKeys) ids.set(fk, FK_ID_BASE + ids.size);
  }
  const rows: { cells: Cell[]; sort: (string | number)[] }[] = [];
  for (const table of tablesIn(model, namespaces)) {
    for (const fk of table.foreignKeys) {
      const parent = model.tables.find((t) =>
        t.schema === fk.parentSchema && t.name === fk.parentTable
      );
      if (!parent) continue;
      const id = ids.get(fk)!;
      fk.columns.forEach((local, i) => {
        const referenced = fk.parentColumns[i];
        const cells: Cell[] = [
          id,
          local,
          fk.parentTable,
          referenced,
          FK_ACTIONS[fk.onDelete] ?? "a",
          FK_ACTIONS[fk.onUpdate] ?? "a",
          fk.parentSchema,
          fk.name,
          parent.columns.findIndex((c) => c.name === referenced) + 1,
          table.columns.findIndex((c) => c.name === local) + 1,
          table.name,
          table.schema,
        ];
        if (form === "5.2") cells.push(false, false);
        rows.push({ cells, sort: [table.schema, table.name, fk.name, id, i] });
      });
    }
  }
  return sortRows(rows);
}

/**
 * One row per column of each primary key and plain index. Partial and expression indexes
 * are left out, as the real query filters them (`indpred IS NULL`, no expression keys).
 */
export function indexRows(model: SchemaModel, namespaces: string[], form: Form): Cell[][] {
  const rows: { cells: Cell[]; sort: (string | number)[] }[] = [];
  for (const table of tablesIn(model, namespaces)) {
    const typeOf = (name: string) => table.columns.find((c) => c.name === name)?.type;
    const push = (
      index: string,
      column: string,
      i: number,
      flags: { unique: boolean; primary: boolean; descending: boolean },
    ) => {
      const type = typeOf(column);
      const cells: Cell[] = [
        table.schema,
        index,
        table.name,
        column,
        flags.unique,
        flags.primary,
        i,
        type ? opclass(type) : "text_ops",
        true,
        "btree",
        flags.descending ? "DESC" : "ASC",
      ];
      if (form === "5.2") {
        // Postgres's default for DESC is NULLS FIRST; only constraints are deferrable at all.
        cells.push(flags.descending, flags.primary ? false : null, flags.primary ? false : null);
      }
      rows.push({ cells, sort: [table.schema, table.name, index, i] });
    };
    const pkName = table.primaryKeyName || `${table.name}_pkey`;
    table.primaryKey.forEach((column, i) =>
      push(pkName, column, i, { unique: true, primary: true, descending: false })
    );
    for (const index of table.indexes) {
      if (index.where !== undefined || index.columns.some((c) => c.expression !== undefined)) {
        continue;
      }
      index.columns.forEach((column, i) =>
        push(index.name, column.name, i, {
          unique: index.unique,
          primary: false,
          descending: column.descending,
        })
      );
    }
  }
  return sortRows(rows);
}

function sortRows(rows: { cells: Cell[]; sort: (string | number)[] }[]): Cell[][] {
  const keys = rows[0]?.sort.map((_, i) => (r: { sort: (string | number)[] }) => r.sort[i]) ?? [];
  return rows.sort(compareBy(...keys)).map((r) => r.cells);
}
