/**
 * The typed where-clause tree. It is produced only by `parseWhere` (which type-checks every
 * node against the table) and consumed by the evaluator and the SQL renderer, so both sides
 * see exactly the same operations, operand types and conversions.
 *
 * The tree is plain JSON (constants are kept as their canonical text, not as bigint or Date),
 * so a plan can be stored and compared as it is.
 */

/**
 * Value types a where clause computes with. `varchar` columns are typed `text` (Postgres
 * treats them the same way); enums carry their qualified name (`enum:public.colour`); `other`
 * is a column type that may only be tested for NULL (jsonb, bytea).
 */
export type ScalarType =
  | "bool"
  | "int2"
  | "int4"
  | "int8"
  | "float4"
  | "float8"
  | "numeric"
  | "text"
  | "uuid"
  | "date"
  | "time"
  | "timestamp"
  | "timestamptz"
  | `enum:${string}`
  | "other";

export type CompareOp = "=" | "<>" | "<" | ">" | "<=" | ">=";
export type ArithOp = "+" | "-" | "*" | "/" | "%";
export type BoolTest =
  | "IS_TRUE"
  | "IS_NOT_TRUE"
  | "IS_FALSE"
  | "IS_NOT_FALSE"
  | "IS_UNKNOWN"
  | "IS_NOT_UNKNOWN";

export type WhereExpr =
  /** `this.<name>`; the value is the record's text for that column. */
  | { op: "column"; type: ScalarType; name: string }
  /** A constant in canonical text form (what Postgres would print); null is SQL NULL. */
  | { op: "const"; type: ScalarType; value: string | null }
  | { op: "and" | "or"; type: "bool"; args: WhereExpr[] }
  | { op: "not"; type: "bool"; arg: WhereExpr }
  | { op: "is_null"; type: "bool"; arg: WhereExpr; negated: boolean }
  | { op: "bool_test"; type: "bool"; arg: WhereExpr; test: BoolTest }
  /** Both operands already have type `domain` (conversions are explicit `cast` nodes). */
  | {
    op: "compare";
    type: "bool";
    cmp: CompareOp;
    left: WhereExpr;
    right: WhereExpr;
    domain: ScalarType;
  }
  /** `IS DISTINCT FROM`; negated: `IS NOT DISTINCT FROM`. */
  | {
    op: "distinct";
    type: "bool";
    negated: boolean;
    left: WhereExpr;
    right: WhereExpr;
    domain: ScalarType;
  }
  | {
    op: "like";
    type: "bool";
    arg: WhereExpr;
    pattern: WhereExpr;
    escape?: WhereExpr;
    caseInsensitive: boolean;
    negated: boolean;
  }
  /** Both operands already have the result type. */
  | { op: "arith"; type: ScalarType; arith: ArithOp; left: WhereExpr; right: WhereExpr }
  | { op: "negate"; type: ScalarType; arg: WhereExpr }
  | { op: "concat"; type: "text"; left: WhereExpr; right: WhereExpr }
  | { op: "lower" | "upper"; type: "text"; arg: WhereExpr }
  /** A conversion of `arg` (of another type) to `type`. */
  | { op: "cast"; type: ScalarType; arg: WhereExpr }
  /**
   * `arg = ANY(values)`: `values` are canonical texts of type `domain`, none NULL. Not written
   * by clients: permissions build it for long key lists, which the evaluator looks up in a set
   * rather than comparing one by one.
   */
  | { op: "in"; type: "bool"; arg: WhereExpr; values: string[]; domain: ScalarType };

export const INTEGER_TYPES: ReadonlySet<ScalarType> = new Set(["int2", "int4", "int8"]);
export const FLOAT_TYPES: ReadonlySet<ScalarType> = new Set(["float4", "float8"]);
export const NUMERIC_TYPES: ReadonlySet<ScalarType> = new Set([
  "int2",
  "int4",
  "int8",
  "float4",
  "float8",
  "numeric",
]);

export function isEnumType(type: ScalarType): type is `enum:${string}` {
  return type.startsWith("enum:");
}
