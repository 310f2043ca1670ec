/**
 * Renders the small expressions that appear in index definitions (partial-index predicates,
 * expression elements) as SQLite text. `pg_get_indexdef` writes Postgres-only syntax such as
 * `'red'::colour` or `(v)::text`, which SQLite rejects, so these are rebuilt from the parse
 * tree. Returns undefined for anything not covered; callers then fall back to the source text.
 */
import type { A_Const, A_Expr, Node } from "@pgsql/types";
import { pgTypeFromAst, sqliteTypeFor } from "./pg_types.ts";
import { quoteIdent } from "./sqlite.ts";

const LIKE_OPS: Record<string, string> = {
  "~~": "LIKE",
  "!~~": "NOT LIKE",
  "~~*": "LIKE",
  "!~~*": "NOT LIKE",
};

const SQL_VALUE_FUNCTIONS: Record<string, string> = {
  SVFOP_CURRENT_DATE: "current_date",
  SVFOP_CURRENT_TIME: "current_time",
  SVFOP_CURRENT_TIMESTAMP: "current_timestamp",
};

export function sqliteExpr(node: Node): string | undefined {
  if ("ColumnRef" in node) {
    const fields = node.ColumnRef.fields ?? [];
    const last = fields[fields.length - 1];
    return last && "String" in last ? quoteIdent(last.String.sval ?? "") : undefined;
  }
  if ("A_Const" in node) return constant(node.A_Const);
  if ("TypeCast" in node) {
    const { arg, typeName } = node.TypeCast;
    if (!arg || !typeName) return undefined;
    const inner = sqliteExpr(arg);
    if (inner === undefined) return undefined;
    const target = sqliteTypeFor(pgTypeFromAst(typeName).type, false);
    if ("A_Const" in arg && "sval" in arg.A_Const) {
      if (target === "TEXT") return inner;
      if (pgTypeFromAst(typeName).type.name === "bool") return boolLiteral(arg.A_Const);
    }
    return `CAST(${inner} AS ${target})`;
  }
  if ("A_Expr" in node) return operator(node.A_Expr);
  if ("BoolExpr" in node) {
    const args = (node.BoolExpr.args ?? []).map(operand);
    if (args.some((a) => a === undefined)) return undefined;
    switch (node.BoolExpr.boolop) {
      case "AND_EXPR":
        return args.join(" AND ");
      case "OR_EXPR":
        return args.join(" OR ");
      case "NOT_EXPR":
        return `NOT ${args[0]}`;
    }
    return undefined;
  }
  if ("NullTest" in node) {
    const arg = node.NullTest.arg && operand(node.NullTest.arg);
    if (arg === undefined) return undefined;
    return `${arg} ${node.NullTest.nulltesttype === "IS_NOT_NULL" ? "IS NOT NULL" : "IS NULL"}`;
  }
  if ("FuncCall" in node) {
    const names = node.FuncCall.funcname ?? [];
    const name = names[names.length - 1];
    const args = (node.FuncCall.args ?? []).map(sqliteExpr);
    if (!name || !("String" in name) || args.some((a) => a === undefined)) return undefined;
    return `${name.String.sval}(${args.join(", ")})`;
  }
  if ("CoalesceExpr" in node) {
    const args = (node.CoalesceExpr.args ?? []).map(sqliteExpr);
    return args.some((a) => a === undefined) ? undefined : `coalesce(${args.join(", ")})`;
  }
  if ("SQLValueFunction" in node) return SQL_VALUE_FUNCTIONS[node.SQLValueFunction.op ?? ""];
  return undefined;
}

/** Compound operands get parentheses so precedence never depends on the dialect. */
function operand(node: Node): string | undefined {
  const text = sqliteExpr(node);
  if (text === undefined) return undefined;
  const compound = "A_Expr" in node || "BoolExpr" in node || "NullTest" in node;
  return compound ? `(${text})` : text;
}

function operator(e: A_Expr): string | undefined {
  const names = e.name ?? [];
  const last = names[names.length - 1];
  const op = last && "String" in last ? last.String.sval ?? "" : "";
  const left = e.lexpr ? operand(e.lexpr) : undefined;
  const right = e.rexpr ? operand(e.rexpr) : undefined;
  switch (e.kind) {
    case "AEXPR_OP":
      if (right === undefined) return undefined;
      if (!e.lexpr) return `${op}${right}`;
      if (left === undefined) return undefined;
      return `${left} ${LIKE_OPS[op] ?? op} ${right}`;
    case "AEXPR_LIKE":
    case "AEXPR_ILIKE":
      return left !== undefined && right !== undefined
        ? `${left} ${LIKE_OPS[op] ?? "LIKE"} ${right}`
        : undefined;
    case "AEXPR_DISTINCT":
      return left !== undefined && right !== undefined ? `${left} IS NOT ${right}` : undefined;
    case "AEXPR_NOT_DISTINCT":
      return left !== undefined && right !== undefined ? `${left} IS ${right}` : undefined;
    case "AEXPR_IN": {
      const list = e.rexpr && "List" in e.rexpr ? e.rexpr.List.items ?? [] : [];
      const items = list.map(sqliteExpr);
      if (left === undefined || items.some((i) => i === undefined)) return undefined;
      return `${left} ${op === "<>" ? "NOT IN" : "IN"} (${items.join(", ")})`;
    }
    case "AEXPR_BETWEEN":
    case "AEXPR_NOT_BETWEEN": {
      const list = e.rexpr && "List" in e.rexpr ? e.rexpr.List.items ?? [] : [];
      const [lo, hi] = list.map(operand);
      if (left === undefined || lo === undefined || hi === undefined) return undefined;
      const not = e.kind === "AEXPR_NOT_BETWEEN" ? "NOT " : "";
      return `${left} ${not}BETWEEN ${lo} AND ${hi}`;
    }
  }
  return undefined;
}

function constant(c: A_Const): string | undefined {
  if (c.isnull) return "NULL";
  if ("ival" in c) return String(c.ival?.ival ?? 0);
  if ("fval" in c) return c.fval?.fval;
  if ("boolval" in c) return c.boolval?.boolval ? "1" : "0";
  if ("sval" in c) return `'${(c.sval?.sval ?? "").replaceAll("'", "''")}'`;
  return undefined;
}

function boolLiteral(c: A_Const): string | undefined {
  const v = ("sval" in c ? c.sval?.sval ?? "" : "").trim().toLowerCase();
  if (["t", "true", "y", "yes", "on", "1"].includes(v)) return "1";
  if (["f", "false", "n", "no", "off", "0"].includes(v)) return "0";
  return undefined;
}
