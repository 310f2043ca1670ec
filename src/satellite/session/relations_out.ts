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
  /** The table model each relation was last checked against. */
  readonly #checked = new Map<string, TableModel>();

  /** Appends the SatRelation frames `tables` need to `into`. */
  frames(tables: readonly TableModel[], model: SchemaModel, into: Uint8Array[]): void {
    for (const table of tables) {
      const key = `${table.schema}.${table.name}`;
      if (this.#checked.get(key) === table) continue;
      const relation = relationFor(table, model);
      const layout = JSON.stringify(
        relation.columns.map((c) => [c.name, c.type, c.primaryKey, c.isNullable]),
      );
      this.#checked.set(key, table);
      if (this.#layouts.get(key) === layout) continue;
      this.#layouts.set(key, layout);
      into.push(encodeFrame(relation));
    }
  }

  /** A migration changed `table`: announce it again, in its new layout. */
  forget(table: TableModel): void {
    const key = `${table.schema}.${table.name}`;
    this.#layouts.delete(key);
    this.#checked.delete(key);
  }
}
