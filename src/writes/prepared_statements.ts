/**
 * The statements one writer connection has prepared. A parameterized statement (parameters.ts)
 * becomes `EXECUTE name(values)`, with `PREPARE name(types) AS text` sent before it the first
 * time, in the same transaction block; everything still goes in the simple-protocol messages
 * the writer batches, so a batch keeps its one round trip and its behaviour on a failure.
 *
 * Names carry a generation: after a failure the writer cannot tell which PREPAREs of the
 * failed message ran, so it starts a new generation instead of guessing (the old statements
 * stay on the connection until it closes; failures are rare). Past `capacity` statements all
 * of them are deallocated by name, so a connection's prepared statements stay bounded whatever
 * shapes clients send.
 */
import type { Statement } from "./statements.ts";

let generations = 0;

export class PreparedStatements {
  #names = new Map<string, string>();
  #generation = ++generations;
  #next = 0;
  readonly #capacity: number;

  constructor(capacity = 256) {
    this.#capacity = capacity;
  }

  /**
   * The SQL that runs `statement`; what must run before it (a PREPARE, DEALLOCATEs) is appended
   * to `prepare`.
   */
  render(statement: Statement, prepare: string[]): string {
    if (typeof statement === "string") return statement;
    let name = this.#names.get(statement.text);
    if (name === undefined) {
      if (this.#names.size >= this.#capacity) {
        for (const old of this.#names.values()) prepare.push(`DEALLOCATE ${old}`);
        this.#names.clear();
      }
      name = `electric_w${this.#generation}_${++this.#next}`;
      this.#names.set(statement.text, name);
      const types = statement.types.length > 0 ? ` (${statement.types.join(", ")})` : "";
      prepare.push(`PREPARE ${name}${types} AS ${statement.text}`);
    }
    return statement.args.length > 0
      ? `EXECUTE ${name}(${statement.args.join(", ")})`
      : `EXECUTE ${name}`;
  }

  /** Forgets what is prepared: the next statements are prepared under new names. */
  forget(): void {
    this.#names.clear();
    this.#generation = ++generations;
    this.#next = 0;
  }

  get size(): number {
    return this.#names.size;
  }
}
