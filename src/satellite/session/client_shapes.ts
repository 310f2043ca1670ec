/**
 * A connection's subscriptions as the client will see them once every pending delivery is
 * made, and the shape groups they form (src/shapes/group.ts). Each change returns the groups
 * before and after it; the stream switches from one to the other at the change's insertion
 * point, so changes queued one after another chain up: the `from` of the next is the `to` of
 * the previous. Groups that stay the same keep their instance.
 *
 * What the user may read narrows every layer (permissions): the stored plans stay as the
 * client asked, and a change of the user's access is a group change like any other.
 */
import { narrowedWhere, type RowAccess } from "../../permissions/mod.ts";
import type { SchemaModel, TableModel } from "../../schema/mod.ts";
import {
  type GroupMember,
  type LayerPlan,
  partitionIntoGroups,
  type SubscriptionPlan,
  withCurrentTables,
} from "../../shapes/mod.ts";
import type { PlannedGroup, ShapeHub } from "../../sync/mod.ts";

export interface GroupChange {
  from: PlannedGroup[];
  to: PlannedGroup[];
}

/** Which rows of a table the user may read. */
export type ReadAccess = (table: TableModel) => RowAccess;

const READ_ALL: ReadAccess = () => ({ kind: "all" });

export class ClientShapes {
  readonly #userId: string;
  readonly #hub: ShapeHub;
  readonly #subscriptions = new Map<string, SubscriptionPlan>();
  #planned: PlannedGroup[] = [];
  #access: ReadAccess;

  constructor(userId: string, hub: ShapeHub, access: ReadAccess = READ_ALL) {
    this.#userId = userId;
    this.#hub = hub;
    this.#access = access;
  }

  /** The user's access changed: the groups it leads to (the same keys when nothing moved). */
  setAccess(access: ReadAccess): GroupChange {
    const from = this.#planned;
    this.#access = access;
    this.#planned = this.#partition();
    return { from, to: this.#planned };
  }

  /** How many subscriptions the client has. */
  get count(): number {
    return this.#subscriptions.size;
  }

  has(id: string): boolean {
    return this.#subscriptions.has(id);
  }

  ids(): string[] {
    return [...this.#subscriptions.keys()];
  }

  plan(id: string): SubscriptionPlan | undefined {
    return this.#subscriptions.get(id);
  }

  /** The groups now planned. */
  get planned(): PlannedGroup[] {
    return this.#planned;
  }

  /**
   * Starts from stored `plans` (a resume): every group of them, none active yet. Their tables
   * are refreshed from `model`: what is read from now on has today's columns.
   */
  restore(plans: readonly SubscriptionPlan[], model: SchemaModel): PlannedGroup[] {
    for (const plan of plans) {
      this.#subscriptions.set(plan.subscriptionId, withCurrentTables(plan, model));
    }
    this.#planned = this.#partition();
    return this.#planned;
  }

  add(plan: SubscriptionPlan): GroupChange {
    const from = this.#planned;
    this.#subscriptions.set(plan.subscriptionId, plan);
    this.#planned = this.#partition();
    return { from, to: this.#planned };
  }

  /** Removes the known ones of `ids`; undefined when none was known. */
  remove(ids: readonly string[]): (GroupChange & { removed: string[] }) | undefined {
    const removed = ids.filter((id) => this.#subscriptions.delete(id));
    if (removed.length === 0) return undefined;
    const from = this.#planned;
    this.#planned = this.#partition();
    return { from, to: this.#planned, removed };
  }

  #partition(): PlannedGroup[] {
    const members: GroupMember[] = [];
    for (const plan of this.#subscriptions.values()) {
      for (const request of plan.requests) {
        members.push({
          id: `${plan.subscriptionId}/${request.requestId}`,
          root: this.#narrowed(request.root),
        });
      }
    }
    const previous = new Map(this.#planned.map((g) => [g.definition.key, g]));
    return partitionIntoGroups(members, this.#userId).map(({ members, definition }) => {
      const kept = previous.get(definition.key);
      if (kept) return { ...kept, members };
      return {
        definition,
        members,
        group: definition.stateless ? this.#hub.stateless(definition) : undefined,
      };
    });
  }

  /** `layer` and the layers below it with what the user may not read filtered out. */
  #narrowed(layer: LayerPlan): LayerPlan {
    const access = this.#access(layer.table);
    const where = narrowedWhere(layer.where, access);
    const children = layer.children.map((child) => this.#narrowed(child));
    if (where === layer.where && children.every((c, i) => c === layer.children[i])) return layer;
    return { ...layer, ...(where === undefined ? {} : { where }), children };
  }
}
