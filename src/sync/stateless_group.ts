/**
 * A stateless group at run time: nothing per row and nothing per client. Each transaction is
 * filtered once (shapes/stateless.ts) and the outcome kept with the transaction object for as
 * long as the transaction log holds it, so every client of the group — live or catching up —
 * shares it.
 */
import type { Transaction } from "../replication/mod.ts";
import { type GroupDefinition, type OutChange, StatelessFilter } from "../shapes/mod.ts";
import { EMPTY_STEP, type GroupStep } from "./graph_group.ts";

export class StatelessGroup {
  readonly definition: GroupDefinition;
  readonly filter: StatelessFilter;
  readonly #steps = new WeakMap<Transaction, GroupStep>();

  constructor(definition: GroupDefinition) {
    this.definition = definition;
    this.filter = new StatelessFilter(definition);
  }

  /**
   * What a client holding the group receives of `tx`. Only non-empty steps are kept: most
   * transactions touch nothing of most groups, and a kept entry per group and transaction
   * would cost memory for every group times the transaction cache.
   */
  step(tx: Transaction): GroupStep {
    const known = this.#steps.get(tx);
    if (known) return known;
    const changes: OutChange[] = this.filter.filter(tx);
    if (changes.length === 0) return EMPTY_STEP;
    const step = { additional: [], changes, movesIn: false };
    this.#steps.set(tx, step);
    return step;
  }
}
