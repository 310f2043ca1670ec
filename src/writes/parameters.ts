/**
 * Statements with their values taken out. Postgres plans the merge statements of a client
 * change anew for every text it is sent, and planning them costs about three times what
 * running them does for a one-row transaction. With the values out as parameters, the text
 * of a small run depends only on its shape (table, rows, deletes), so the direct writer can
 * prepare it once per connection and EXECUTE it with the values (direct_writer_session.ts).
 * Pure: text only.
 */

/**
 * Where a value goes in a statement: `literal` is the value as a typed SQL literal, `sqlType`
 * its type as SQL; returns what the statement says in its place.
 */
export type ValueSlot = (literal: string, sqlType: string) => string;

/** Values stay in the text as literals. */
export const inline: ValueSlot = (literal) => literal;

/** A statement whose values are parameters `$1`…`$n`, given as literals of `types`. */
export interface Parameterized {
  text: string;
  types: string[];
  args: string[];
}

/** A slot that numbers the values as parameters, and what it collected. */
export function parameterSlot(): { slot: ValueSlot; types: string[]; args: string[] } {
  const types: string[] = [];
  const args: string[] = [];
  return {
    slot: (literal, sqlType) => {
      types.push(sqlType);
      args.push(literal);
      return `$${args.length}`;
    },
    types,
    args,
  };
}

/**
 * Builds a statement through a slot that collects parameters; `build` must put every value
 * through the slot it is given.
 */
export function parameterized(build: (slot: ValueSlot) => string): Parameterized {
  const { slot, types, args } = parameterSlot();
  const text = build(slot);
  return { text, types, args };
}
