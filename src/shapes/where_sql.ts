/**
 * Renders a typed where clause as SQL for the initial and move-in queries. The client's text
 * is never spliced in: columns are quoted identifiers, constants are `$n` parameters with an
 * explicit type, every conversion is an explicit CAST and every node is parenthesised, so
 * Postgres evaluates exactly the operations the in-process evaluator performs.
 *
 * Text comparisons, LIKE/ILIKE and lower/upper run under COLLATE "C": code point order and
 * ASCII-only case mapping are the only text semantics that can be reproduced in-process
 * independently of the database's locale.
 */
import { quoteIdent } from "../schema/mod.ts";
import { isEnumType, type ScalarType, type WhereExpr } from "./where_types.ts";

/** SQL name of a where-clause type, for casts. */
export function sqlTypeName(type: ScalarType): string {
  if (isEnumType(type)) return type.slice(5).split(".").map(quoteIdent).join(".");
  if (type === "other") throw new Error("Values of this type have no SQL form here");
  return type;
}

const C = ` COLLATE "C"`;

export function whereToSql(expr: WhereExpr, alias: string, params: unknown[]): string {
  const sub = (e: WhereExpr) => whereToSql(e, alias, params);
  switch (expr.op) {
    case "column":
      return `(${quoteIdent(alias)}.${quoteIdent(expr.name)})`;
    case "const": {
      if (expr.value === null) return `(NULL::${sqlTypeName(expr.type)})`;
      // Sent as text and converted by the type's own input function: postgres.js would
      // otherwise serialize typed parameters itself (dates through JS Date, booleans by truth).
      params.push(expr.value);
      return `($${params.length}::text::${sqlTypeName(expr.type)})`;
    }
    case "and":
    case "or":
      return `(${expr.args.map(sub).join(expr.op === "and" ? " AND " : " OR ")})`;
    case "not":
      return `(NOT ${sub(expr.arg)})`;
    case "is_null":
      return `(${sub(expr.arg)} IS ${expr.negated ? "NOT " : ""}NULL)`;
    case "bool_test":
      return `(${sub(expr.arg)} ${expr.test.replaceAll("_", " ")})`;
    case "compare": {
      const collate = expr.domain === "text" ? C : "";
      return `(${sub(expr.left)}${collate} ${expr.cmp} ${sub(expr.right)})`;
    }
    case "distinct": {
      const collate = expr.domain === "text" ? C : "";
      const not = expr.negated ? "NOT " : "";
      return `(${sub(expr.left)}${collate} IS ${not}DISTINCT FROM ${sub(expr.right)})`;
    }
    case "like": {
      const op = `${expr.negated ? "NOT " : ""}${expr.caseInsensitive ? "ILIKE" : "LIKE"}`;
      const escape = expr.escape ? ` ESCAPE ${sub(expr.escape)}` : "";
      return `(${sub(expr.arg)}${C} ${op} ${sub(expr.pattern)}${escape})`;
    }
    case "arith":
      return `(${sub(expr.left)} ${expr.arith} ${sub(expr.right)})`;
    case "negate":
      return `(- ${sub(expr.arg)})`;
    case "concat":
      return `(${sub(expr.left)} || ${sub(expr.right)})`;
    case "lower":
    case "upper":
      return `(${expr.op}(${sub(expr.arg)}${C}))`;
    case "cast":
      return `(CAST(${sub(expr.arg)} AS ${sqlTypeName(expr.type)}))`;
    case "in": {
      // One array parameter, however many values: the statement text stays the same size.
      params.push(arrayLiteral(expr.values));
      const collate = expr.domain === "text" ? C : "";
      return `(${sub(expr.arg)}${collate} = ANY($${params.length}::text::${
        sqlTypeName(expr.domain)
      }[]))`;
    }
  }
}

/** `{"a","b"}`: a Postgres array literal of the texts, each quoted. */
export function arrayLiteral(values: readonly string[]): string {
  return `{${
    values.map((v) => `"${v.replaceAll("\\", "\\\\").replaceAll('"', '\\"')}"`).join(",")
  }}`;
}
