/**
 * Which relations a connection has announced (satellite-protocol.md §6): a `SatRelation` goes
 * out before a table's first row, and again when a migration changed the table's layout. The
 * check runs for every row op, so it compares the table model object first and builds the
 * relation only when the model changed.
 */
import type { SchemaModel, TableModel } from "../../schema/mod.ts";
import { encodeFrame } from "../codec/mod.ts";
import { relationFor } from "../serialization/mod.ts";

export class Announcements {
  /** Column layout last announced per table. */
  readonly #layouts = new Map<string, string>();
  /** Table models already checked (the check runs per row op: by object, no key to build). */
  readonly #checked = new WeakSet<TableModel>();

  /** Appends the SatRelation frames `tables` need to `into`. */
  frames(tables: readonly TableModel[], model: SchemaModel, into: Uint8Array[]): void {
    for (const table of tables) {
      if (this.#checked.has(table)) continue;
      const key = `${table.schema}.${table.name}`;
      const relation = relationFor(table, model);
      const layout = JSON.stringify(
        relation.columns.map((c) => [c.name, c.type, c.primaryKey, c.isNullable]),
      );
      this.#checked.add(table);
      if (this.#layouts.get(key) === layout) continue;
      this.#layouts.set(key, layout);
      into.push(encodeFrame(relation));
    }
  }

  /** Whether every one of `tables` was checked already (nothing to announce). */
  knows(tables: readonly TableModel[]): boolean {
    for (let i = 0; i < tables.length; i++) if (!this.#checked.has(tables[i])) return false;
    return true;
  }

  /** A migration changed `table`: announce it again, in its new layout. */
  forget(table: TableModel): void {
    this.#layouts.delete(`${table.schema}.${table.name}`);
    this.#checked.delete(table);
  }
}
