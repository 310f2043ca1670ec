/**
 * Where clauses: the client's text, parsed by the real Postgres grammar as
 * `SELECT 1 WHERE <clause>`, then type-checked node by node into a `WhereExpr`.
 *
 * The accepted subset is small on purpose: every node must be evaluated in-process exactly as
 * Postgres evaluates the SQL rendered from the same tree. Type resolution follows Postgres's
 * operator resolution for the supported types (an untyped string literal takes the type of
 * the other operand; int with numeric compares as numeric; anything with a float as float8,
 * float4 with float4 as float4), and every implicit conversion becomes an explicit `cast`
 * node, so the rendered SQL leaves Postgres no choice to make differently.
 *
 * Literals are checked and normalised here: a literal this module cannot read refuses the
 * clause, so a clause that is accepted never fails on its constants in Postgres.
 *
 * Past 400 lines: one case per accepted node kind plus the type rules they share; split
 * apart, the rules would have to be read in two places to know what a node means.
 */
import type { Node } from "@pgsql/types";
import {
  findEnum,
  parseStatements,
  pgTypeFromAst,
  type SchemaModel,
  type TableModel,
} from "../schema/mod.ts";
import { formatValue, parseValue } from "./values.ts";
import {
  type ArithOp,
  type CompareOp,
  FLOAT_TYPES,
  INTEGER_TYPES,
  isEnumType,
  NUMERIC_TYPES,
  type ScalarType,
  type WhereExpr,
} from "./where_types.ts";

export type WhereParseResult = { ok: true; expr: WhereExpr } | { ok: false; message: string };

class WhereError extends Error {}

/** An expression checked so far: typed, or a literal whose type the context decides. */
type Checked =
  | { kind: "typed"; expr: WhereExpr }
  | { kind: "unknown"; text: string | null };

interface Scope {
  table: TableModel;
  model: SchemaModel;
}

const COMPARE_OPS: ReadonlySet<string> = new Set(["=", "<>", "<", ">", "<=", ">="]);
const ARITH_OPS: ReadonlySet<string> = new Set(["+", "-", "*", "/", "%"]);
const LIKE_OPS: Record<string, { caseInsensitive: boolean; negated: boolean }> = {
  "~~": { caseInsensitive: false, negated: false },
  "!~~": { caseInsensitive: false, negated: true },
  "~~*": { caseInsensitive: true, negated: false },
  "!~~*": { caseInsensitive: true, negated: true },
};
const SELECT_KEYS: ReadonlySet<string> = new Set([
  "targetList",
  "whereClause",
  "limitOption",
  "op",
]);

/** Longer where clauses are refused before they are parsed. */
export const MAX_WHERE_LENGTH = 64 * 1024;
/**
 * Deeper parse trees are refused before they are checked: the checks recurse, and a clause
 * nested a few thousand levels deep would exhaust the stack. An expression level is a few
 * objects deep in the tree, so this allows about a hundred levels of nesting.
 */
export const MAX_WHERE_TREE_DEPTH = 512;

export async function parseWhere(
  clause: string,
  table: TableModel,
  model: SchemaModel,
): Promise<WhereParseResult> {
  if (clause.length > MAX_WHERE_LENGTH) {
    return {
      ok: false,
      message: `Invalid where clause: longer than ${MAX_WHERE_LENGTH} characters`,
    };
  }
  let parsed: Awaited<ReturnType<typeof parseStatements>>;
  try {
    parsed = await parseStatements(`SELECT 1 WHERE ${clause}`);
  } catch (error) {
    // The parser itself can run out of stack on deep nesting.
    if (error instanceof RangeError) {
      return { ok: false, message: "Invalid where clause: nested too deeply" };
    }
    throw error;
  }
  if (!parsed.ok) return { ok: false, message: `Invalid where clause: ${parsed.error.message}` };
  if (treeDepth(parsed.statements[0]?.ast) > MAX_WHERE_TREE_DEPTH) {
    return { ok: false, message: "Invalid where clause: nested too deeply" };
  }
  if (parsed.statements.length !== 1) {
    return { ok: false, message: "Where clause must be a single expression" };
  }
  const stmt = parsed.statements[0].ast as { SelectStmt?: Record<string, unknown> };
  const select = stmt.SelectStmt;
  if (
    !select || select.op !== "SETOP_NONE" || select.whereClause === undefined ||
    Object.keys(select).some((k) => !SELECT_KEYS.has(k))
  ) {
    return { ok: false, message: "Where clause must be a single expression" };
  }
  try {
    const checked = check(select.whereClause as Node, { table, model });
    return { ok: true, expr: coerce(checked, "bool", { table, model }, "Where clause") };
  } catch (error) {
    if (error instanceof WhereError) return { ok: false, message: error.message };
    throw error;
  }
}

/** How deeply objects and arrays nest in a parse tree, measured without recursion. */
function treeDepth(root: unknown): number {
  let deepest = 0;
  const pending: [unknown, number][] = [[root, 1]];
  while (pending.length > 0) {
    const [node, depth] = pending.pop()!;
    if (node === null || typeof node !== "object") continue;
    if (depth > deepest) deepest = depth;
    if (deepest > MAX_WHERE_TREE_DEPTH) return deepest;
    for (const child of Object.values(node)) pending.push([child, depth + 1]);
  }
  return deepest;
}

/** Column type → where-clause type. */
export function columnScalarType(type: { name: string; array: number[] }): ScalarType {
  if (type.array.length > 0) return "other";
  switch (type.name) {
    case "varchar":
      return "text";
    case "bool":
    case "int2":
    case "int4":
    case "int8":
    case "float4":
    case "float8":
    case "text":
    case "uuid":
    case "date":
    case "time":
    case "timestamp":
    case "timestamptz":
      return type.name;
  }
  return type.name.includes(".") ? `enum:${type.name}` : "other";
}

function typeLabel(type: ScalarType): string {
  return isEnumType(type) ? type.slice(5) : type;
}

function typed(expr: WhereExpr): Checked {
  return { kind: "typed", expr };
}

function check(node: Node, scope: Scope): Checked {
  const [tag] = Object.keys(node);
  const body = (node as Record<string, unknown>)[tag] as Record<string, unknown>;
  switch (tag) {
    case "A_Const":
      return constant(body);
    case "ColumnRef":
      return typed(column(body, scope));
    case "TypeCast":
      return typed(typeCast(body, scope));
    case "BoolExpr":
      return typed(boolExpr(body, scope));
    case "NullTest": {
      const arg = check(body.arg as Node, scope);
      const expr = arg.kind === "typed" ? arg.expr : coerce(arg, "text", scope, "IS NULL");
      return typed({
        op: "is_null",
        type: "bool",
        arg: expr,
        negated: body.nulltesttype === "IS_NOT_NULL",
      });
    }
    case "BooleanTest": {
      const arg = coerce(check(body.arg as Node, scope), "bool", scope, "IS TRUE/FALSE");
      return typed({ op: "bool_test", type: "bool", arg, test: body.booltesttype as never });
    }
    case "A_Expr":
      return aExpr(body, scope);
    case "FuncCall":
      return typed(funcCall(body, scope));
    case "SubLink":
      throw new WhereError("Subqueries are not supported in where clauses");
    case "ParamRef":
      throw new WhereError("Parameters are not supported in where clauses");
    case "SQLValueFunction":
      throw new WhereError(
        "Non-deterministic values such as CURRENT_DATE are not supported in this context",
      );
  }
  throw new WhereError(`${tag} is not supported in this context`);
}

function constant(body: Record<string, unknown>): Checked {
  if (body.isnull) return { kind: "unknown", text: null };
  if ("ival" in body) {
    const ival = (body.ival as { ival?: number }).ival ?? 0;
    return typed({ op: "const", type: "int4", value: String(ival) });
  }
  if ("fval" in body) {
    const text = (body.fval as { fval: string }).fval;
    const int8 = /^-?\d+$/.test(text) ? parseValue("int8", text) : undefined;
    if (int8 !== undefined) return typed({ op: "const", type: "int8", value: String(int8) });
    const numeric = parseValue("numeric", text);
    if (numeric === undefined) throw new WhereError(`Invalid numeric constant ${text}`);
    return typed({ op: "const", type: "numeric", value: formatValue("numeric", numeric) });
  }
  if ("boolval" in body) {
    const value = (body.boolval as { boolval?: boolean }).boolval ?? false;
    return typed({ op: "const", type: "bool", value: value ? "true" : "false" });
  }
  if ("sval" in body) return { kind: "unknown", text: (body.sval as { sval?: string }).sval ?? "" };
  throw new WhereError("Bit string constants are not supported in this context");
}

function column(body: Record<string, unknown>, scope: Scope): WhereExpr {
  const fields = (body.fields as Node[]).map((f) => "String" in f ? f.String.sval ?? "" : "*");
  const text = fields.join(".");
  if (fields.length === 1) {
    throw new WhereError(`unknown reference ${text} - did you mean \`this.${text}\`?`);
  }
  if (fields.length !== 2 || fields[0] !== "this") {
    throw new WhereError(`unknown reference ${text}`);
  }
  const col = scope.table.columns.find((c) => c.name === fields[1]);
  if (!col) throw new WhereError(`unknown reference ${text}`);
  return { op: "column", type: columnScalarType(col.type), name: col.name };
}

function typeFromName(node: Node | Record<string, unknown>, scope: Scope): ScalarType {
  const { type } = pgTypeFromAst(node as never);
  if (type.array.length > 0) throw new WhereError("Casts to array types are not supported");
  if (type.size.length > 0) throw new WhereError("Type modifiers are not supported in casts");
  if (type.name === "numeric") return "numeric";
  const scalar = columnScalarType(type);
  if (scalar !== "other") return scalar;
  const [schema, name] = type.name.includes(".") ? type.name.split(".", 2) : ["public", type.name];
  if (findEnum(scope.model, schema, name)) return `enum:${schema}.${name}`;
  throw new WhereError(`Type ${type.name} is not supported in this context`);
}

function enumLabels(type: ScalarType, scope: Scope): string[] | undefined {
  if (!isEnumType(type)) return undefined;
  const [schema, name] = type.slice(5).split(".", 2);
  return findEnum(scope.model, schema, name)?.values ?? [];
}

function literal(text: string | null, type: ScalarType, scope: Scope): WhereExpr {
  if (type === "other") throw new WhereError("Literals of this type are not supported");
  if (text === null) return { op: "const", type, value: null };
  const value = parseValue(type, text, enumLabels(type, scope));
  if (value === undefined) {
    throw new WhereError(`Invalid input syntax for type ${typeLabel(type)}: "${text}"`);
  }
  return { op: "const", type, value: formatValue(type, value) };
}

/** Casts Postgres performs exactly like `castValue` does (others are refused). */
function castAllowed(from: ScalarType, to: ScalarType): boolean {
  if (from === to) return true;
  if (NUMERIC_TYPES.has(from) && NUMERIC_TYPES.has(to)) {
    // Postgres rounds int8 and numeric to float4 once; going through a double would round
    // twice. Floats become numeric through a printed form, which is not exact either.
    if (to === "float4") return from !== "int8" && from !== "numeric";
    if (to === "numeric") return INTEGER_TYPES.has(from);
    return true;
  }
  if (to === "text") {
    return INTEGER_TYPES.has(from) || from === "uuid" || from === "bool" || isEnumType(from);
  }
  return (from === "date" && to === "timestamp") || (from === "timestamp" && to === "date");
}

function castTo(expr: WhereExpr, type: ScalarType): WhereExpr {
  if (expr.type === type) return expr;
  if (!castAllowed(expr.type, type)) {
    throw new WhereError(`Cannot cast type ${typeLabel(expr.type)} to ${typeLabel(type)}`);
  }
  return { op: "cast", type, arg: expr };
}

/** The checked expression as `type`: literals are read as that type, others must match it. */
function coerce(checked: Checked, type: ScalarType, scope: Scope, what: string): WhereExpr {
  if (checked.kind === "unknown") return literal(checked.text, type, scope);
  if (checked.expr.type !== type) {
    throw new WhereError(
      `${what} expects type ${typeLabel(type)}, got ${typeLabel(checked.expr.type)}`,
    );
  }
  return checked.expr;
}

function typeCast(body: Record<string, unknown>, scope: Scope): WhereExpr {
  const target = typeFromName(body.typeName as Node, scope);
  const arg = check(body.arg as Node, scope);
  if (arg.kind === "unknown") return literal(arg.text, target, scope);
  return castTo(arg.expr, target);
}

function boolExpr(body: Record<string, unknown>, scope: Scope): WhereExpr {
  const args = (body.args as Node[]).map((a) =>
    coerce(check(a, scope), "bool", scope, "Boolean operator")
  );
  switch (body.boolop) {
    case "AND_EXPR":
      return { op: "and", type: "bool", args };
    case "OR_EXPR":
      return { op: "or", type: "bool", args };
    default:
      return { op: "not", type: "bool", arg: args[0] };
  }
}

/** The type both sides of a comparison are converted to, as Postgres resolves it. */
function comparisonDomain(a: ScalarType, b: ScalarType): ScalarType | undefined {
  if (a === b) return a;
  if (NUMERIC_TYPES.has(a) && NUMERIC_TYPES.has(b)) return numericResult(a, b);
  const pair = new Set([a, b]);
  if (pair.has("date") && pair.has("timestamp")) return "timestamp";
  return undefined;
}

function numericResult(a: ScalarType, b: ScalarType): ScalarType {
  if (FLOAT_TYPES.has(a) || FLOAT_TYPES.has(b)) {
    return a === "float4" && b === "float4" ? "float4" : "float8";
  }
  if (a === "numeric" || b === "numeric") return "numeric";
  if (a === "int8" || b === "int8") return "int8";
  if (a === "int4" || b === "int4") return "int4";
  return "int2";
}

/** Both operands typed: literals take the other side's type (text when both are literals). */
function unify(left: Checked, right: Checked, scope: Scope): [WhereExpr, WhereExpr] {
  if (left.kind === "unknown" && right.kind === "unknown") {
    return [literal(left.text, "text", scope), literal(right.text, "text", scope)];
  }
  if (left.kind === "unknown") {
    const r = (right as { expr: WhereExpr }).expr;
    return [literal(left.text, r.type, scope), r];
  }
  if (right.kind === "unknown") return [left.expr, literal(right.text, left.expr.type, scope)];
  return [left.expr, right.expr];
}

function comparison(op: CompareOp, left: Checked, right: Checked, scope: Scope): WhereExpr {
  const [l, r] = unify(left, right, scope);
  const domain = comparisonDomain(l.type, r.type);
  if (!domain || domain === "other") {
    throw new WhereError(
      `Operator ${op} is not supported between ${typeLabel(l.type)} and ${typeLabel(r.type)}`,
    );
  }
  if ((domain === "bool" || isEnumType(domain)) && op !== "=" && op !== "<>") {
    throw new WhereError(`Operator ${op} is not supported for type ${typeLabel(domain)}`);
  }
  return {
    op: "compare",
    type: "bool",
    cmp: op,
    left: castTo(l, domain),
    right: castTo(r, domain),
    domain,
  };
}

function distinct(negated: boolean, left: Checked, right: Checked, scope: Scope): WhereExpr {
  const compared = comparison("=", left, right, scope) as Extract<WhereExpr, { op: "compare" }>;
  const { left: l, right: r, domain } = compared;
  return { op: "distinct", type: "bool", negated, left: l, right: r, domain };
}

function arithmetic(op: ArithOp, left: Checked, right: Checked, scope: Scope): WhereExpr {
  if (left.kind === "unknown" && right.kind === "unknown") {
    throw new WhereError(`Operator ${op} is not unique for two untyped literals`);
  }
  const [l, r] = unify(left, right, scope);
  if (!NUMERIC_TYPES.has(l.type) || !NUMERIC_TYPES.has(r.type)) {
    throw new WhereError(
      `Operator ${op} is not supported between ${typeLabel(l.type)} and ${typeLabel(r.type)}`,
    );
  }
  const type = numericResult(l.type, r.type);
  if (op === "%" && !INTEGER_TYPES.has(type)) {
    throw new WhereError(`Operator % is only supported on integers`);
  }
  if (op === "/" && type === "numeric") {
    throw new WhereError("Division of numeric values is not supported in this context");
  }
  return { op: "arith", type, arith: op, left: castTo(l, type), right: castTo(r, type) };
}

function textOperand(checked: Checked, scope: Scope, what: string): WhereExpr {
  if (checked.kind === "unknown") return literal(checked.text, "text", scope);
  if (checked.expr.type !== "text") {
    throw new WhereError(`${what} is only supported on text, got ${typeLabel(checked.expr.type)}`);
  }
  return checked.expr;
}

function like(
  kind: { caseInsensitive: boolean; negated: boolean },
  body: Record<string, unknown>,
  scope: Scope,
): WhereExpr {
  const what = kind.caseInsensitive ? "ILIKE" : "LIKE";
  const arg = textOperand(check(body.lexpr as Node, scope), scope, what);
  const rexpr = body.rexpr as Node;
  let patternNode = rexpr;
  let escape: WhereExpr | undefined;
  if ("FuncCall" in rexpr) {
    const names = (rexpr.FuncCall.funcname ?? []).map((n) => "String" in n ? n.String.sval : "");
    if (names.join(".") === "pg_catalog.like_escape" && rexpr.FuncCall.args?.length === 2) {
      patternNode = rexpr.FuncCall.args[0];
      escape = textOperand(check(rexpr.FuncCall.args[1], scope), scope, "ESCAPE");
      if (escape.op === "const" && escape.value !== null && [...escape.value].length > 1) {
        throw new WhereError("Invalid escape string: must be empty or one character");
      }
    }
  }
  const pattern = textOperand(check(patternNode, scope), scope, what);
  return { op: "like", type: "bool", arg, pattern, ...(escape ? { escape } : {}), ...kind };
}

function operatorName(body: Record<string, unknown>): string {
  const names = (body.name as Node[]).map((n) => "String" in n ? n.String.sval ?? "" : "");
  if (names.length !== 1) throw new WhereError(`Operator ${names.join(".")} is not supported`);
  return names[0];
}

function aExpr(body: Record<string, unknown>, scope: Scope): Checked {
  const op = operatorName(body);
  switch (body.kind) {
    case "AEXPR_OP": {
      if (body.lexpr === undefined) return typed(prefix(op, check(body.rexpr as Node, scope)));
      if (op in LIKE_OPS) return typed(like(LIKE_OPS[op], body, scope));
      const left = check(body.lexpr as Node, scope);
      const right = check(body.rexpr as Node, scope);
      if (COMPARE_OPS.has(op)) return typed(comparison(op as CompareOp, left, right, scope));
      if (ARITH_OPS.has(op)) return typed(arithmetic(op as ArithOp, left, right, scope));
      if (op === "||") {
        return typed({
          op: "concat",
          type: "text",
          left: textOperand(left, scope, "||"),
          right: textOperand(right, scope, "||"),
        });
      }
      throw new WhereError(`Operator ${op} is not supported in this context`);
    }
    case "AEXPR_LIKE":
    case "AEXPR_ILIKE":
      return typed(like(LIKE_OPS[op], body, scope));
    case "AEXPR_DISTINCT":
    case "AEXPR_NOT_DISTINCT": {
      const left = check(body.lexpr as Node, scope);
      const right = check(body.rexpr as Node, scope);
      return typed(distinct(body.kind === "AEXPR_NOT_DISTINCT", left, right, scope));
    }
    case "AEXPR_IN":
      return typed(inList(op === "<>", body, scope));
    case "AEXPR_BETWEEN":
    case "AEXPR_NOT_BETWEEN": {
      const items = (body.rexpr as { List: { items: Node[] } }).List.items;
      const value = check(body.lexpr as Node, scope);
      const negated = body.kind === "AEXPR_NOT_BETWEEN";
      const low = comparison(negated ? "<" : ">=", value, check(items[0], scope), scope);
      const high = comparison(negated ? ">" : "<=", value, check(items[1], scope), scope);
      return typed({ op: negated ? "or" : "and", type: "bool", args: [low, high] });
    }
  }
  throw new WhereError(
    `${String(body.kind).replace("AEXPR_", "")} expressions are not supported in this context`,
  );
}

function prefix(op: string, arg: Checked): WhereExpr {
  if (arg.kind === "unknown") {
    throw new WhereError(`Operator ${op} is not unique for an untyped literal`);
  }
  if ((op === "-" || op === "+") && NUMERIC_TYPES.has(arg.expr.type)) {
    return op === "+" ? arg.expr : { op: "negate", type: arg.expr.type, arg: arg.expr };
  }
  throw new WhereError(
    `Prefix operator ${op} is not supported for type ${typeLabel(arg.expr.type)}`,
  );
}

function inList(negated: boolean, body: Record<string, unknown>, scope: Scope): WhereExpr {
  const rexpr = body.rexpr as Node;
  if (!("List" in rexpr)) throw new WhereError("Subqueries are not supported in where clauses");
  const value = check(body.lexpr as Node, scope);
  const args = (rexpr.List.items ?? []).map((item) =>
    comparison(negated ? "<>" : "=", value, check(item, scope), scope)
  );
  return args.length === 1 ? args[0] : { op: negated ? "and" : "or", type: "bool", args };
}

function funcCall(body: Record<string, unknown>, scope: Scope): WhereExpr {
  const names = (body.funcname as Node[]).map((n) => "String" in n ? n.String.sval ?? "" : "");
  const name = names.length === 2 && names[0] === "pg_catalog" ? names[1] : names.join(".");
  const args = (body.args as Node[] | undefined) ?? [];
  const special = body.agg_star || body.agg_distinct || body.over || body.agg_filter ||
    body.agg_order || body.func_variadic;
  if ((name === "lower" || name === "upper") && args.length === 1 && !special) {
    return { op: name, type: "text", arg: textOperand(check(args[0], scope), scope, name) };
  }
  throw new WhereError(`Function ${name}() is not supported in this context`);
}
