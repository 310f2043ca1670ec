/**
 * A connection's subscriptions as the client will see them once every pending delivery is
 * made, and the shape groups they form (src/shapes/group.ts). Each change returns the groups
 * before and after it; the stream switches from one to the other at the change's insertion
 * point, so changes queued one after another chain up: the `from` of the next is the `to` of
 * the previous. Groups that stay the same keep their instance.
 */
import type { SchemaModel } from "../../schema/mod.ts";
import {
  type GroupMember,
  partitionIntoGroups,
  type SubscriptionPlan,
  withCurrentTables,
} from "../../shapes/mod.ts";
import type { PlannedGroup, ShapeHub } from "../../sync/mod.ts";

export interface GroupChange {
  from: PlannedGroup[];
  to: PlannedGroup[];
}

export class ClientShapes {
  readonly #userId: string;
  readonly #hub: ShapeHub;
  readonly #subscriptions = new Map<string, SubscriptionPlan>();
  #planned: PlannedGroup[] = [];

  constructor(userId: string, hub: ShapeHub) {
    this.#userId = userId;
    this.#hub = hub;
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
        members.push({ id: `${plan.subscriptionId}/${request.requestId}`, root: request.root });
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
}
