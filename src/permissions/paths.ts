/**
 * How a row of a table belongs to a scope row: the chain of foreign keys from the table to the
 * scope table. Pure: schema in, hops out, and the SQL that resolves a chain for some scope rows.
 *
 * - The scope table itself: no hop (its own primary key names the scope row).
 * - `USING a/b/c` (also written `a.b.c`): each element is a single-column foreign key of the
 *   table reached so far; the last one must reach the scope table.
 * - No `USING`: the one foreign key to the scope table; with none, the one chain of foreign
 *   keys (at most MAX_HOPS, no table twice) that leads there. Two foreign keys, or two
 *   chains, are ambiguous: the grant then opens nothing, and the reason says to name one.
 *
 * A chain of one hop is matched on the row itself (its foreign key columns against the user's
 * scope keys). A longer one is resolved from Postgres per scope row (path_cache.ts): the keys
 * of the first parent table that lead to the scope row, e.g. the ids of the issues of a project
 * for `comments USING issue_id/project_id`.
 */
import { findTable, quoteIdent, type SchemaModel, type TableModel } from "../schema/mod.ts";
import { sameTable, type TableName } from "./rules.ts";

/** One foreign key followed: `table.columns` reference `parent.parentColumns`. */
export interface Hop {
  table: TableName;
  columns: string[];
  parent: TableName;
  parentColumns: string[];
}

export type ScopePath = { ok: true; hops: Hop[] } | { ok: false; reason: string };

/** Chains longer than this are not looked for without `USING`. */
export const MAX_HOPS = 4;

const name = (t: TableName) => `${t.schema}.${t.name}`;

function hopOf(table: TableModel, fk: TableModel["foreignKeys"][number]): Hop {
  return {
    table: { schema: table.schema, name: table.name },
    columns: fk.columns,
    parent: { schema: fk.parentSchema, name: fk.parentTable },
    parentColumns: fk.parentColumns,
  };
}

/** The elements of a `USING` path: `a/b`, `a.b`, `"a"/"b"`. */
export function pathElements(usingPath: string): string[] {
  const elements: string[] = [];
  let current = "";
  let quoted = false;
  const text = usingPath.trim();
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      if (quoted && text[i + 1] === '"') {
        current += '"';
        i++;
      } else quoted = !quoted;
    } else if (!quoted && (c === "/" || c === ".")) {
      elements.push(current.trim());
      current = "";
    } else current += c;
  }
  elements.push(current.trim());
  return elements;
}

/**
 * The chain from `table` to `scope`. Without the model only the table itself and its own
 * foreign keys can be looked at.
 */
export function scopePath(
  table: TableModel,
  scope: TableName,
  options: { usingPath?: string; model?: SchemaModel } = {},
): ScopePath {
  if (sameTable(table, scope)) return { ok: true, hops: [] };
  const { usingPath, model } = options;
  if (usingPath !== undefined) return usingChain(table, scope, pathElements(usingPath), model);
  const direct = table.foreignKeys.filter((fk) =>
    fk.parentSchema === scope.schema && fk.parentTable === scope.name
  );
  if (direct.length === 1) return { ok: true, hops: [hopOf(table, direct[0])] };
  if (direct.length > 1) {
    return {
      ok: false,
      reason: `more than one foreign key from ${name(table)} to ${
        name(scope)
      }: name one with USING`,
    };
  }
  if (!model) return { ok: false, reason: `no foreign key from ${name(table)} to ${name(scope)}` };
  const chains = chainsTo(model, table, scope);
  if (chains.length === 1) return { ok: true, hops: chains[0] };
  return {
    ok: false,
    reason: chains.length === 0
      ? `no chain of foreign keys from ${name(table)} to ${name(scope)}`
      : `more than one chain of foreign keys from ${name(table)} to ${name(scope)}: ` +
        `name one with USING`,
  };
}

function usingChain(
  table: TableModel,
  scope: TableName,
  elements: string[],
  model: SchemaModel | undefined,
): ScopePath {
  const hops: Hop[] = [];
  let at: TableModel | undefined = table;
  for (const [i, column] of elements.entries()) {
    if (!at) {
      return {
        ok: false,
        reason: `USING ${elements.join("/")}: table ${name(hops[i - 1].parent)} unknown`,
      };
    }
    const fks = at.foreignKeys.filter((fk) => fk.columns.length === 1 && fk.columns[0] === column);
    if (fks.length !== 1) {
      return {
        ok: false,
        reason: `USING ${elements.join("/")}: ${name(at)}.${column} is not one foreign key`,
      };
    }
    hops.push(hopOf(at, fks[0]));
    const parent: TableName = hops[i].parent;
    at = i + 1 < elements.length && model
      ? findTable(model, parent.schema, parent.name)
      : undefined;
  }
  if (!sameTable(hops[hops.length - 1].parent, scope)) {
    return { ok: false, reason: `USING ${elements.join("/")} does not lead to ${name(scope)}` };
  }
  return { ok: true, hops };
}

/** Every chain of foreign keys from `table` to `scope` (at most two are needed: 0, 1 or many). */
function chainsTo(model: SchemaModel, table: TableModel, scope: TableName): Hop[][] {
  const found: Hop[][] = [];
  const visit = (at: TableModel, hops: Hop[], seen: Set<string>) => {
    if (found.length > 1 || hops.length >= MAX_HOPS) return;
    for (const fk of at.foreignKeys) {
      const parent = { schema: fk.parentSchema, name: fk.parentTable };
      const hop = hopOf(at, fk);
      if (sameTable(parent, scope)) {
        found.push([...hops, hop]);
        continue;
      }
      if (seen.has(name(parent))) continue;
      const next = findTable(model, parent.schema, parent.name);
      if (!next) continue;
      visit(next, [...hops, hop], new Set([...seen, name(parent)]));
    }
  };
  visit(table, [], new Set([name(table)]));
  return found;
}

/** A stable name of a chain: the same hops, the same cache entries. */
export function chainKey(hops: readonly Hop[]): string {
  return JSON.stringify(
    hops.map((h) => [name(h.table), h.columns, name(h.parent), h.parentColumns]),
  );
}

/** The text of a key (one value or several) as a set member. */
export function keyText(values: readonly (string | null | undefined)[]): string {
  return values.length === 1 ? String(values[0]) : JSON.stringify(values);
}

/** `int4`, `"public"."colour"`, `text[]` (as the writer casts; writes/literal.ts). */
export function castType(type: TableModel["columns"][number]["type"]): string {
  const dot = type.name.indexOf(".");
  const base = dot < 0
    ? /^[a-z][a-z0-9_]*$/.test(type.name) ? type.name : quoteIdent(type.name)
    : `${quoteIdent(type.name.slice(0, dot))}.${quoteIdent(type.name.slice(dot + 1))}`;
  return base + "[]".repeat(type.array.length);
}

const qualified = (t: TableName) => `${quoteIdent(t.schema)}.${quoteIdent(t.name)}`;

/**
 * The query resolving a chain of two or more hops for some scope rows: parameters are one text
 * array per scope key column (the scope keys, column by column). Each result row has the scope
 * key (`s0`, `s1`…) and, per intermediate table `i` (1 = the first parent), the key its child
 * hop references (`l<i>_<j>`), NULL below a row with no children. Undefined when a table of the
 * chain is not in the model.
 */
export function chainQuery(model: SchemaModel, hops: readonly Hop[]): string | undefined {
  const n = hops.length;
  const tables: TableModel[] = [];
  for (let i = 1; i < n; i++) {
    const table = findTable(model, hops[i].table.schema, hops[i].table.name);
    if (!table) return undefined;
    tables[i] = table;
  }
  const top = hops[n - 1];
  const types = top.columns.map((c) => tables[n - 1].columns.find((col) => col.name === c)?.type);
  if (types.some((t) => t === undefined)) return undefined;
  const keyColumns = top.columns.map((_, j) => `k${j}`);
  const unnest = `unnest(${top.columns.map((_, j) => `$${j + 1}::text[]`).join(", ")}) AS k(${
    keyColumns.join(", ")
  })`;
  const on = top.columns.map((c, j) =>
    `a${n - 1}.${quoteIdent(c)} = CAST(k.k${j} AS ${castType(types[j]!)})`
  );
  const parts = [`FROM ${qualified(top.table)} a${n - 1} JOIN ${unnest} ON ${on.join(" AND ")}`];
  for (let i = n - 2; i >= 1; i--) {
    const join = hops[i].columns.map((c, j) =>
      `a${i}.${quoteIdent(c)} = a${i + 1}.${quoteIdent(hops[i].parentColumns[j])}`
    );
    parts.push(`LEFT JOIN ${qualified(hops[i].table)} a${i} ON ${join.join(" AND ")}`);
  }
  const selected = keyColumns.map((k, j) => `k.${k} AS s${j}`);
  for (let i = 1; i < n; i++) {
    hops[i - 1].parentColumns.forEach((c, j) =>
      selected.push(`a${i}.${quoteIdent(c)}::text AS l${i}_${j}`)
    );
  }
  return `SELECT ${selected.join(", ")} ${parts.join(" ")}`;
}
