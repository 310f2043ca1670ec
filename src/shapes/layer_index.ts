/**
 * The layers of a client's active subscriptions, indexed by id and by table, with links to
 * their parent and child layers.
 */
import type { TableModel } from "../schema/mod.ts";
import { tableKey } from "./row_key.ts";
import type { LayerPlan, SubscriptionPlan } from "./types.ts";

export interface LayerInfo {
  id: string;
  subscriptionId: string;
  requestId: string;
  plan: LayerPlan;
  parent?: LayerInfo;
  children: LayerInfo[];
}

export class LayerIndex {
  readonly layers = new Map<string, LayerInfo>();
  readonly plans = new Map<string, SubscriptionPlan>();
  readonly #byTable = new Map<string, LayerInfo[]>();
  readonly #tables = new Map<string, TableModel>();

  add(plan: SubscriptionPlan): void {
    this.plans.set(plan.subscriptionId, plan);
    for (const request of plan.requests) {
      const visit = (layer: LayerPlan, parent?: LayerInfo): LayerInfo => {
        const info: LayerInfo = {
          id: layer.id,
          subscriptionId: plan.subscriptionId,
          requestId: request.requestId,
          plan: layer,
          children: [],
        };
        if (parent) info.parent = parent;
        this.layers.set(layer.id, info);
        const key = tableKey(layer.table);
        this.#byTable.set(key, [...(this.#byTable.get(key) ?? []), info]);
        this.#tables.set(key, layer.table);
        info.children = layer.children.map((child) => visit(child, info));
        return info;
      };
      visit(request.root);
    }
  }

  remove(subscriptionId: string): Set<string> {
    const removed = new Set<string>();
    for (const [id, info] of this.layers) {
      if (info.subscriptionId === subscriptionId) removed.add(id);
    }
    for (const id of removed) this.layers.delete(id);
    this.plans.delete(subscriptionId);
    this.#byTable.clear();
    this.#tables.clear();
    for (const info of this.layers.values()) {
      const key = tableKey(info.plan.table);
      this.#byTable.set(key, [...(this.#byTable.get(key) ?? []), info]);
      this.#tables.set(key, info.plan.table);
    }
    return removed;
  }

  onTable(table: { schema: string; name: string }): LayerInfo[] {
    return this.#byTable.get(tableKey(table)) ?? [];
  }

  /** The model of a table some layer covers; undefined when no shape covers it. */
  table(schema: string, name: string): TableModel | undefined {
    return this.#tables.get(tableKey({ schema, name }));
  }
}
