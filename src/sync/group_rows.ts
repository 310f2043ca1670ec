/**
 * The rows of a group, read inside a snapshot: every layer tree of the group for graph groups
 * (the same queries as a subscription's initial data, postgres-side.md §9.2), each layer's rows
 * for stateless ones. Rows come back once each, parents before children.
 */
import {
  fetchInitialData,
  type GroupDefinition,
  type LayerPlan,
  primaryKeyKey,
  type ShapeRow,
  type SubscriptionPlan,
} from "../shapes/mod.ts";
import type { Sql } from "../storage/mod.ts";

/** The group as a plan, one request per root layer. */
export function groupPlan(definition: Pick<GroupDefinition, "roots">): SubscriptionPlan {
  return {
    subscriptionId: "group",
    requests: definition.roots.map((root, i) => ({ requestId: String(i), root })),
  };
}

/** The rows of `roots` (all of the group's, or some of them), deduplicated. */
export async function fetchGroupRows(
  sql: Sql,
  definition: Pick<GroupDefinition, "owner">,
  roots: readonly LayerPlan[],
): Promise<ShapeRow[]> {
  const data = await fetchInitialData(sql, groupPlan({ roots }), {
    // No owner: no ownership filter; the id can match nothing then.
    userId: definition.owner ?? "",
  });
  // One layer alone cannot return a row twice.
  if (roots.length === 1 && roots[0].children.length === 0) return [...data.values()][0] ?? [];
  const tables = new Map<string, LayerPlan["table"]>();
  const visit = (layer: LayerPlan) => {
    tables.set(`${layer.table.schema}.${layer.table.name}`, layer.table);
    layer.children.forEach(visit);
  };
  roots.forEach(visit);
  const seen = new Set<string>();
  const rows: ShapeRow[] = [];
  for (const part of data.values()) {
    for (const row of part) {
      const key = primaryKeyKey(tables.get(`${row.schema}.${row.table}`)!, row.record);
      if (seen.has(key)) continue;
      seen.add(key);
      rows.push(row);
    }
  }
  return rows;
}
