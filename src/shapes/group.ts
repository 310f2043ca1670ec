/**
 * Shape groups: the unit of shared read-path state. A client's shape requests are split into
 * groups of requests that share a table (a row can only be held twice through such requests);
 * groups of one client never share a table, so what each sends can simply be concatenated.
 * Two clients whose groups have the same canonical key — same layer trees, same where clauses,
 * and the same user where an ownership filter applies — are served by one group instance:
 * filtering, membership and encoding happen once for all of them.
 *
 * A group is *stateless* when every request is a single layer (no includes and no automatic
 * parents): whether a row is in it follows from the row's own values, so old and new values
 * of a change decide insert, update, move-in and move-out and nothing is kept per row.
 * Otherwise membership depends on other rows and the group keeps a row graph (graph_state.ts).
 */
import { hasOwnerColumn } from "./layer_query.ts";
import { tableKey } from "./row_key.ts";
import type { LayerPlan } from "./types.ts";

export interface GroupDefinition {
  /** Canonical: equal keys mean equal membership for every row, now and later. */
  readonly key: string;
  /** One root layer per distinct request, with group-level layer ids (`<root>/<path>`). */
  readonly roots: readonly LayerPlan[];
  /** The user whose rows the ownership filter keeps; undefined when no table has an owner. */
  readonly owner: string | undefined;
  readonly stateless: boolean;
  /** `schema.table` of every layer. */
  readonly tables: ReadonlySet<string>;
}

/** A client's request as it takes part in a group. */
export interface GroupMember {
  /** Any id the caller uses to tell requests apart (e.g. `<subscription>/<request>`). */
  id: string;
  root: LayerPlan;
}

function canonicalLayer(layer: LayerPlan): unknown {
  return {
    t: tableKey(layer.table),
    w: layer.where ?? null,
    r: layer.relation
      ? {
        k: layer.relation.kind,
        n: layer.relation.fk.name,
        c: layer.relation.fk.columns,
        p: [
          `${layer.relation.fk.parentSchema}.${layer.relation.fk.parentTable}`,
          layer.relation.fk.parentColumns,
        ],
      }
      : null,
    a: layer.automatic,
    c: layer.children.map(canonicalLayer),
  };
}

/** The canonical text of one request's layer tree (independent of subscription/request ids). */
export function requestKey(root: LayerPlan): string {
  return JSON.stringify(canonicalLayer(root));
}

function visitLayers(layer: LayerPlan, visit: (layer: LayerPlan) => void): void {
  visit(layer);
  for (const child of layer.children) visitLayers(child, visit);
}

function relabel(layer: LayerPlan, id: string): LayerPlan {
  return {
    ...layer,
    id,
    children: layer.children.map((child, i) => relabel(child, `${id}.${i}`)),
  };
}

/** The group of `roots` (requests sharing tables) as seen by user `userId`. */
export function groupDefinition(roots: readonly LayerPlan[], userId: string): GroupDefinition {
  const byKey = new Map<string, LayerPlan>();
  for (const root of roots) {
    const key = requestKey(root);
    if (!byKey.has(key)) byKey.set(key, root);
  }
  const keys = [...byKey.keys()].sort();
  const relabelled = keys.map((key, i) => relabel(byKey.get(key)!, `${i}`));
  const tables = new Set<string>();
  let owned = false;
  let stateless = true;
  for (const root of relabelled) {
    if (root.children.length > 0) stateless = false;
    visitLayers(root, (layer) => {
      tables.add(tableKey(layer.table));
      if (hasOwnerColumn(layer.table)) owned = true;
    });
  }
  const owner = owned ? userId : undefined;
  return {
    key: JSON.stringify({ roots: keys, owner: owner ?? null }),
    roots: relabelled,
    owner,
    stateless,
    tables,
  };
}

/**
 * Splits requests into groups that share no table (connected components of "covers a common
 * table"), in a deterministic order. Each result lists the members and their definition.
 */
export function partitionIntoGroups(
  members: readonly GroupMember[],
  userId: string,
): { members: GroupMember[]; definition: GroupDefinition }[] {
  const parent = members.map((_, i) => i);
  const find = (i: number): number => (parent[i] === i ? i : (parent[i] = find(parent[i])));
  const owners = new Map<string, number>();
  members.forEach((member, i) => {
    visitLayers(member.root, (layer) => {
      const table = tableKey(layer.table);
      const other = owners.get(table);
      if (other === undefined) owners.set(table, i);
      else parent[find(i)] = find(other);
    });
  });
  const components = new Map<number, GroupMember[]>();
  members.forEach((member, i) => {
    const root = find(i);
    if (!components.has(root)) components.set(root, []);
    components.get(root)!.push(member);
  });
  return [...components.values()]
    .map((group) => ({
      members: group,
      definition: groupDefinition(group.map((m) => m.root), userId),
    }))
    .sort((a, b) => (a.definition.key < b.definition.key ? -1 : 1));
}
