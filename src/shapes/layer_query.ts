/**
 * The SQL of one shape layer (postgres-side.md §9.2): every model column of the table as text,
 * its shadow `_tags`, the layer's where clause, the relation to the rows already fetched for
 * the parent layer, and the ownership filter. Everything variable is a parameter: parent key
 * values travel as one array literal per column, so the statement size does not grow with the
 * number of rows.
 */
import { type ForeignKeyModel, type PgType, quoteIdent, type TableModel } from "../schema/mod.ts";
import { ELECTRIC_SCHEMA, shadowTableName } from "../storage/mod.ts";
import type { LayerPlan } from "./types.ts";
import { whereToSql } from "./where_sql.ts";

export const OWNER_COLUMN = "electric_user_id";
const ALIAS = "this";

export interface LayerQuery {
  text: string;
  params: unknown[];
}

export function hasOwnerColumn(table: TableModel): boolean {
  return table.columns.some((c) => c.name === OWNER_COLUMN);
}

function columnSqlType(type: PgType): string {
  if (type.name.includes(".")) return type.name.split(".").map(quoteIdent).join(".");
  return type.name;
}

/** A one-dimensional array literal of text elements (all quoted, so nothing is special). */
export function arrayLiteral(values: readonly string[]): string {
  const quoted = values.map((v) => `"${v.replaceAll("\\", "\\\\").replaceAll('"', '\\"')}"`);
  return `{${quoted.join(",")}}`;
}

/**
 * Which columns of this layer's rows must match which columns of the parent layer's rows:
 * one-to-many children hold the FK, many-to-one parents are referenced by it.
 */
export function relationColumns(
  relation: { kind: "one_to_many" | "many_to_one"; fk: ForeignKeyModel },
): { own: string[]; parent: string[] } {
  return relation.kind === "one_to_many"
    ? { own: relation.fk.columns, parent: relation.fk.parentColumns }
    : { own: relation.fk.parentColumns, parent: relation.fk.columns };
}

/**
 * The query for `layer`. `parentRecords` are the rows fetched for the parent layer (required
 * below the root); rows with a NULL in the relation columns relate to nothing.
 */
export function layerQuery(
  layer: LayerPlan,
  parentRecords: readonly Record<string, string | null>[] | undefined,
  options: { userId: string },
): LayerQuery {
  const { table } = layer;
  const params: unknown[] = [];
  const t = quoteIdent(ALIAS);
  const columns = table.columns.map((c) => `${t}.${quoteIdent(c.name)}::text`);
  const join = table.primaryKey.map((c) => `"shadow".${quoteIdent(c)} = ${t}.${quoteIdent(c)}`);
  const conditions: string[] = [];
  if (layer.where) conditions.push(whereToSql(layer.where, ALIAS, params));
  if (layer.relation) {
    const { own, parent } = relationColumns(layer.relation);
    const tuples = new Map<string, string[]>();
    for (const record of parentRecords ?? []) {
      const values = parent.map((c) => record[c] ?? null);
      if (values.some((v) => v === null)) continue;
      tuples.set(JSON.stringify(values), values as string[]);
    }
    const arrays = own.map((column, i) => {
      params.push(arrayLiteral([...tuples.values()].map((v) => v[i])));
      const type = table.columns.find((c) => c.name === column)!.type;
      return `$${params.length}::text::${columnSqlType(type)}[]`;
    });
    const lhs = own.map((c) => `${t}.${quoteIdent(c)}`);
    conditions.push(
      own.length === 1
        ? `(${lhs[0]} = ANY(${arrays[0]}))`
        : `((${lhs.join(", ")}) IN (SELECT * FROM unnest(${arrays.join(", ")})))`,
    );
  }
  if (hasOwnerColumn(table)) {
    params.push(options.userId);
    conditions.push(`(${t}.${quoteIdent(OWNER_COLUMN)}::text = $${params.length}::text)`);
  }
  const text = `SELECT ${columns.join(", ")}, "shadow"."_tags"::text` +
    ` FROM ${quoteIdent(table.schema)}.${quoteIdent(table.name)} AS ${t}` +
    ` LEFT JOIN ${quoteIdent(ELECTRIC_SCHEMA)}.${
      quoteIdent(shadowTableName(table.schema, table.name))
    } AS "shadow" ON ${join.join(" AND ")}` +
    (conditions.length > 0 ? ` WHERE ${conditions.join(" AND ")}` : "");
  return { text, params };
}
