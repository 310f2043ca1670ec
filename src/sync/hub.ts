/**
 * The registry of shape groups: one instance per canonical group key, shared by every client
 * whose requests form that group. Stateless groups cost nothing and are kept while referenced;
 * a graph group runs while clients are attached and stops a little after the last one leaves
 * (a client reconnecting at once finds it still running).
 */
import type { Limiter } from "../lifecycle/mod.ts";
import type { MetricsRegistry } from "../telemetry/mod.ts";
import type { ShapeRow } from "../shapes/mod.ts";
import type { GroupDefinition } from "../shapes/mod.ts";
import { GraphGroup, type GraphGroupDeps } from "./graph_group.ts";
import { groupKeyDigest } from "./membership_store.ts";
import type { ConsistentRead } from "./snapshot.ts";
import type { Visibility } from "./visibility.ts";
import { StatelessGroup } from "./stateless_group.ts";

export type Group = StatelessGroup | GraphGroup;

export interface ShapeHubOptions extends GraphGroupDeps {
  /** How long an idle graph group keeps running. Default 30 s. */
  idleMs?: number;
  /** Bounds concurrent client snapshot reads (subscription data, resumes). */
  clientReads: Limiter;
  /** Required here: every read of a running service waits for what it follows to show. */
  visibility: Visibility;
  /** Registers `electric_shapes`. */
  metrics?: MetricsRegistry;
}

export class ShapeHub {
  readonly options: ShapeHubOptions;
  /**
   * Stateless groups live as long as some client's plan refers to them: the map only finds
   * them (per-user where clauses make one group per user, which must not pile up).
   */
  #stateless = new Map<string, WeakRef<StatelessGroup>>();
  #forget = new FinalizationRegistry<string>((key) => {
    if (this.#stateless.get(key)?.deref() === undefined) this.#stateless.delete(key);
  });
  #graphs = new Map<string, GraphGroup>();
  #idleTimers = new Map<string, ReturnType<typeof setTimeout>>();

  constructor(options: ShapeHubOptions) {
    this.options = options;
    options.metrics?.gaugeFrom(
      "electric_shapes",
      "Distinct shape groups shared by clients (stateless groups in use and running graph groups).",
      () => this.groupCount,
    );
  }

  /** Groups in use now: stateless ones still referenced, and running graph groups. */
  get groupCount(): number {
    let count = this.#graphs.size;
    for (const ref of this.#stateless.values()) if (ref.deref() !== undefined) count++;
    return count;
  }

  stateless(definition: GroupDefinition): StatelessGroup {
    let group = this.#stateless.get(definition.key)?.deref();
    if (!group) {
      group = new StatelessGroup(definition);
      this.#stateless.set(definition.key, new WeakRef(group));
      this.#forget.register(group, definition.key);
    }
    return group;
  }

  /** The running graph group of this key, if any (a failed one is forgotten). */
  runningGraph(key: string): GraphGroup | undefined {
    const group = this.#graphs.get(key);
    if (group?.failed) {
      this.#graphs.delete(key);
      return undefined;
    }
    return group;
  }

  /** Starts a graph group from a read of its rows. */
  startGraph(definition: GroupDefinition, start: ConsistentRead<ShapeRow[]>): GraphGroup {
    const group = new GraphGroup(definition, this.options, start);
    this.#graphs.set(definition.key, group);
    group.onIdle(() => this.#scheduleStop(definition.key, group));
    return group;
  }

  /** Keeps a group from being stopped while a client is about to attach. */
  keep(group: GraphGroup): void {
    const timer = this.#idleTimers.get(group.definition.key);
    if (timer) clearTimeout(timer);
    this.#idleTimers.delete(group.definition.key);
  }

  /** Digests (as stored) of the graph groups running now. */
  runningKeys(): Set<string> {
    return new Set([...this.#graphs.keys()].map(groupKeyDigest));
  }

  get graphCount(): number {
    return this.#graphs.size;
  }

  stop(): void {
    for (const timer of this.#idleTimers.values()) clearTimeout(timer);
    this.#idleTimers.clear();
    for (const group of this.#graphs.values()) group.stop();
    this.#graphs.clear();
  }

  #scheduleStop(key: string, group: GraphGroup): void {
    this.keep(group);
    const timer = setTimeout(() => {
      this.#idleTimers.delete(key);
      if (group.clientCount > 0 || this.#graphs.get(key) !== group) return;
      this.#graphs.delete(key);
      group.stop();
    }, this.options.idleMs ?? 30_000);
    this.#idleTimers.set(key, timer);
  }
}
