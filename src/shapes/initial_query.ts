/**
 * Runs the layer queries of a subscription (initial data) or of a move-in, layer by layer:
 * each layer is queried with the rows just fetched for its parent layer. The caller owns the
 * transaction (REPEATABLE READ, snapshot taken before the magic write) and the session
 * settings the text forms depend on (bytea hex, ISO dates, UTC, extra_float_digits).
 *
 * Rows come back parents first (a layer's many-to-one parents before its rows, its one-to-many
 * children after), each row once per request.
 */
import { clientTag, parseTagArray } from "../replication/mod.ts";
import { ORIGIN, type Sql } from "../storage/mod.ts";
import { layerQuery } from "./layer_query.ts";
import { primaryKeyKey } from "./row_key.ts";
import type { LayerPlan, MoveInRequest, ShapeRow, SubscriptionPlan } from "./types.ts";

export const EPOCH_TAG = `${ORIGIN}@0`;

const EPOCH_TAGS: readonly string[] = Object.freeze([EPOCH_TAG]);

/** Shadow `_tags` text → client tags; a row without a shadow row has the epoch tag. */
export function clientTags(tags: string | null): string[] {
  if (tags === null) return [EPOCH_TAG];
  return parseTagArray(tags).map((tag) => clientTag(tag, ORIGIN));
}

/**
 * `clientTags` for many rows in a row: rows written together share their tags text, so the
 * last conversion is reused (the result is shared and must not be modified).
 */
function tagsReader(): (tags: string | null) => string[] {
  let lastText: string | undefined;
  let last: string[] = [];
  return (tags) => {
    if (tags === null) return EPOCH_TAGS as string[];
    if (tags !== lastText) {
      last = clientTags(tags);
      lastText = tags;
    }
    return last;
  };
}

async function queryLayer(
  sql: Sql,
  layer: LayerPlan,
  parentRows: readonly ShapeRow[] | undefined,
  options: { userId: string },
): Promise<ShapeRow[]> {
  if (parentRows !== undefined && parentRows.length === 0) return [];
  const query = layerQuery(layer, parentRows?.map((r) => r.record), options);
  const result = await sql.unsafe(query.text, query.params as never[]).values();
  const names = layer.table.columns.map((c) => c.name);
  const width = names.length;
  const { schema, name: table } = layer.table;
  const tagsOf = tagsReader();
  const rows: ShapeRow[] = new Array(result.length);
  for (let r = 0; r < result.length; r++) {
    const values = result[r] as (string | null)[];
    const record: Record<string, string | null> = {};
    for (let i = 0; i < width; i++) record[names[i]] = values[i];
    rows[r] = { schema, table, record, tags: tagsOf(values[width]) };
  }
  return rows;
}

/**
 * Rows of a root layer as Postgres produces them: each row an array of the table's column
 * values in column order, then its shadow tags text (`tagsAt`); no object per row.
 */
export interface RawRowBatch {
  rows: readonly (string | null)[][];
  /** Index of the tags text in each row (the table's column count). */
  tagsAt: number;
}

/**
 * The rows of a root layer with no children, in batches as Postgres produces them (a cursor):
 * a large initial sync goes out while it is still being read, holding one batch at a time,
 * without building a record per row (`rawTags` turns a row's tags text into client tags).
 */
export async function* streamLayerRows(
  sql: Sql,
  layer: LayerPlan,
  options: { userId: string; batchSize?: number },
): AsyncGenerator<RawRowBatch> {
  const query = layerQuery(layer, undefined, options);
  const tagsAt = layer.table.columns.length;
  const cursor = sql.unsafe(query.text, query.params as never[]).values()
    .cursor(options.batchSize ?? 2_000) as AsyncIterable<(string | null)[][]>;
  for await (const rows of cursor) yield { rows, tagsAt };
}

/** Client tags of a raw row's tags text (a reader: it reuses the last conversion). */
export function rawTagsReader(): (tags: string | null) => string[] {
  return tagsReader();
}

/** `layer`'s rows (related to `parentRows` below the root) and everything below, ordered. */
async function fetchTree(
  sql: Sql,
  layer: LayerPlan,
  parentRows: readonly ShapeRow[] | undefined,
  options: { userId: string },
): Promise<ShapeRow[]> {
  const rows = await queryLayer(sql, layer, parentRows, options);
  return fetchChildren(sql, layer, rows, options);
}

async function fetchChildren(
  sql: Sql,
  layer: LayerPlan,
  rows: ShapeRow[],
  options: { userId: string },
  only?: "one_to_many",
): Promise<ShapeRow[]> {
  const before: ShapeRow[] = [];
  const after: ShapeRow[] = [];
  for (const child of layer.children) {
    if (only && child.relation?.kind !== only) continue;
    const fetched = await fetchTree(sql, child, rows, options);
    (child.relation?.kind === "many_to_one" ? before : after).push(...fetched);
  }
  return [...before, ...rows, ...after];
}

function dedupe(rows: ShapeRow[], layerTable: (row: ShapeRow) => LayerPlan["table"]): ShapeRow[] {
  const seen = new Set<string>();
  return rows.filter((row) => {
    const key = primaryKeyKey(layerTable(row), row.record);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function tablesOf(layer: LayerPlan, into = new Map<string, LayerPlan["table"]>()) {
  into.set(`${layer.table.schema}.${layer.table.name}`, layer.table);
  for (const child of layer.children) tablesOf(child, into);
  return into;
}

function dedupeFor(layer: LayerPlan, rows: ShapeRow[]): ShapeRow[] {
  const tables = tablesOf(layer);
  return dedupe(rows, (row) => tables.get(`${row.schema}.${row.table}`)!);
}

/** Initial data of every request of `plan`, by request id. */
export async function fetchInitialData(
  sql: Sql,
  plan: SubscriptionPlan,
  options: { userId: string },
): Promise<Map<string, ShapeRow[]>> {
  const data = new Map<string, ShapeRow[]>();
  for (const request of plan.requests) {
    const rows = await fetchTree(sql, request.root, undefined, options);
    // One layer alone cannot return a row twice.
    const single = request.root.children.length === 0;
    data.set(request.requestId, single ? rows : dedupeFor(request.root, rows));
  }
  return data;
}

/**
 * The one-to-many children (and everything below them) of rows that moved into
 * `request.layer`. The moved rows themselves were sent with the transaction, and their own
 * many-to-one parents come from the stream.
 */
export async function fetchMoveIn(
  sql: Sql,
  request: MoveInRequest,
  options: { userId: string },
): Promise<ShapeRow[]> {
  const rows = await fetchChildren(sql, request.layer, request.rows, options, "one_to_many");
  const moved = new Set(request.rows);
  return dedupeFor(request.layer, rows.filter((r) => !moved.has(r)));
}
