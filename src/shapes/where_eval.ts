/**
 * Evaluates a typed where clause on a row's text values, the way Postgres evaluates the SQL
 * `whereToSql` renders for the same tree: three-valued logic, strict operators (NULL in, NULL
 * out), integer overflow and division by zero as errors, float semantics of float4/float8,
 * exact decimals, COLLATE "C" text order.
 *
 * A row is in the shape only when the clause is TRUE; NULL, FALSE and errors all mean "not in
 * shape". (Postgres would fail the whole initial query on an error instead; nothing better is
 * possible for a single row of the live stream.)
 */
import { asciiLower, asciiUpper, LikeError, likeMatch } from "./like.ts";
import { dateToTimestamp, timestampToDate } from "./datetime.ts";
import { compareValues, type Decimal, INT_RANGES, parseValue, type Value } from "./values.ts";
import { FLOAT_TYPES, INTEGER_TYPES, type ScalarType, type WhereExpr } from "./where_types.ts";

export class EvalError extends Error {
  readonly code = "EVALUATION_ERROR";
}

type Row = Record<string, string | null | undefined>;

export function evaluateWhere(expr: WhereExpr, record: Row): boolean {
  try {
    return evaluate(expr, record) === true;
  } catch (error) {
    if (error instanceof EvalError || error instanceof LikeError) return false;
    throw error;
  }
}

/** The clause's value: true, false or null (SQL NULL); throws EvalError where Postgres errors. */
export function evaluate(expr: WhereExpr, record: Row): Value | null {
  switch (expr.op) {
    case "column": {
      const text = record[expr.name];
      if (text === null || text === undefined) return null;
      if (expr.type === "other") return text;
      return parsed(expr.type, text);
    }
    case "const":
      return expr.value === null ? null : parsed(expr.type, expr.value);
    case "and": {
      let sawNull = false;
      for (const arg of expr.args) {
        const v = evaluate(arg, record);
        if (v === false) return false;
        if (v === null) sawNull = true;
      }
      return sawNull ? null : true;
    }
    case "or": {
      let sawNull = false;
      for (const arg of expr.args) {
        const v = evaluate(arg, record);
        if (v === true) return true;
        if (v === null) sawNull = true;
      }
      return sawNull ? null : false;
    }
    case "not": {
      const v = evaluate(expr.arg, record);
      return v === null ? null : !v;
    }
    case "is_null":
      return (evaluate(expr.arg, record) === null) !== expr.negated;
    case "bool_test": {
      const v = evaluate(expr.arg, record);
      switch (expr.test) {
        case "IS_TRUE":
          return v === true;
        case "IS_NOT_TRUE":
          return v !== true;
        case "IS_FALSE":
          return v === false;
        case "IS_NOT_FALSE":
          return v !== false;
        case "IS_UNKNOWN":
          return v === null;
        case "IS_NOT_UNKNOWN":
          return v !== null;
      }
      break;
    }
    case "compare": {
      const left = evaluate(expr.left, record);
      const right = evaluate(expr.right, record);
      if (left === null || right === null) return null;
      const c = compareValues(expr.domain, left, right);
      switch (expr.cmp) {
        case "=":
          return c === 0;
        case "<>":
          return c !== 0;
        case "<":
          return c < 0;
        case ">":
          return c > 0;
        case "<=":
          return c <= 0;
        case ">=":
          return c >= 0;
      }
      break;
    }
    case "distinct": {
      const left = evaluate(expr.left, record);
      const right = evaluate(expr.right, record);
      const distinct = left === null || right === null
        ? left !== right
        : compareValues(expr.domain, left, right) !== 0;
      return distinct !== expr.negated;
    }
    case "like": {
      const text = evaluate(expr.arg, record);
      const pattern = evaluate(expr.pattern, record);
      const escape = expr.escape ? evaluate(expr.escape, record) : undefined;
      if (text === null || pattern === null || escape === null) return null;
      const matched = likeMatch(text as string, pattern as string, {
        escape: escape as string | undefined,
        caseInsensitive: expr.caseInsensitive,
      });
      return matched !== expr.negated;
    }
    case "arith": {
      const left = evaluate(expr.left, record);
      const right = evaluate(expr.right, record);
      if (left === null || right === null) return null;
      return arithmetic(expr.type, expr.arith, left, right);
    }
    case "negate": {
      const v = evaluate(expr.arg, record);
      if (v === null) return null;
      if (typeof v === "bigint") return checkInt(expr.type, -v);
      if (typeof v === "number") return -v;
      const d = v as Decimal;
      return { m: -d.m, s: d.s };
    }
    case "concat": {
      const left = evaluate(expr.left, record);
      const right = evaluate(expr.right, record);
      return left === null || right === null ? null : `${left}${right}`;
    }
    case "lower":
    case "upper": {
      const v = evaluate(expr.arg, record);
      if (v === null) return null;
      return expr.op === "lower" ? asciiLower(v as string) : asciiUpper(v as string);
    }
    case "cast": {
      const v = evaluate(expr.arg, record);
      return v === null ? null : castValue(expr.arg.type, expr.type, v);
    }
    case "in": {
      const v = evaluate(expr.arg, record);
      if (v === null) return null;
      const set = valueSet(expr);
      const key = setKey(v);
      if (key !== undefined) return set.keys.has(key);
      return set.others.some((other) => compareValues(expr.domain, v, other) === 0);
    }
  }
  throw new EvalError(`Unknown expression node`);
}

/** The values of an `in` node, parsed once per node (the tree itself stays plain JSON). */
const valueSets = new WeakMap<object, { keys: Set<string>; others: Value[] }>();

function valueSet(expr: Extract<WhereExpr, { op: "in" }>): { keys: Set<string>; others: Value[] } {
  let set = valueSets.get(expr);
  if (!set) {
    set = { keys: new Set(), others: [] };
    for (const text of expr.values) {
      const value = parseValue(expr.domain, text);
      if (value === undefined) continue; // matches nothing, as no valid value equals it
      const key = setKey(value);
      if (key === undefined) set.others.push(value);
      else set.keys.add(key);
    }
    valueSets.set(expr, set);
  }
  return set;
}

/**
 * A key under which equal values are equal strings: integers, strings (text, uuid, enums,
 * dates as stored) and floats (0 and -0 alike, NaN equal to NaN as in Postgres); undefined
 * for decimals, compared one by one.
 */
function setKey(value: Value): string | undefined {
  if (typeof value === "object") return undefined;
  return `${typeof value}:${Object.is(value, -0) ? "0" : String(value)}`;
}

function parsed(type: ScalarType, text: string): Value {
  const value = parseValue(type, text);
  if (value === undefined) throw new EvalError(`Invalid input syntax for type ${type}: "${text}"`);
  return value;
}

function checkInt(type: ScalarType, n: bigint): bigint {
  const [min, max] = INT_RANGES[type];
  if (n < min || n > max) throw new EvalError(`${type} out of range`);
  return n;
}

/** A float result as Postgres checks it: overflow from finite inputs and underflow are errors. */
function checkFloat(type: ScalarType, result: number, inputs: number[], zeroOk: boolean): number {
  const r = type === "float4" ? Math.fround(result) : result;
  if (!Number.isFinite(r) && !Number.isNaN(r) && inputs.every(Number.isFinite)) {
    throw new EvalError("value out of range: overflow");
  }
  if (r === 0 && !zeroOk) throw new EvalError("value out of range: underflow");
  return r;
}

function arithmetic(type: ScalarType, op: string, a: Value, b: Value): Value {
  if (INTEGER_TYPES.has(type)) {
    const [x, y] = [a as bigint, b as bigint];
    switch (op) {
      case "+":
        return checkInt(type, x + y);
      case "-":
        return checkInt(type, x - y);
      case "*":
        return checkInt(type, x * y);
      case "/":
        if (y === 0n) throw new EvalError("division by zero");
        return checkInt(type, x / y);
      case "%":
        if (y === 0n) throw new EvalError("division by zero");
        return x % y;
    }
  }
  if (FLOAT_TYPES.has(type)) {
    const [x, y] = [a as number, b as number];
    switch (op) {
      case "+":
        return checkFloat(type, x + y, [x, y], true);
      case "-":
        return checkFloat(type, x - y, [x, y], true);
      case "*":
        return checkFloat(type, x * y, [x, y], x === 0 || y === 0);
      case "/":
        if (y === 0 && !Number.isNaN(x)) throw new EvalError("division by zero");
        return checkFloat(type, x / y, [x, y], x === 0 || !Number.isFinite(y));
    }
  }
  if (type === "numeric") {
    const [x, y] = [a as Decimal, b as Decimal];
    const s = Math.max(x.s, y.s);
    const xm = x.m * 10n ** BigInt(s - x.s);
    const ym = y.m * 10n ** BigInt(s - y.s);
    switch (op) {
      case "+":
        return { m: xm + ym, s };
      case "-":
        return { m: xm - ym, s };
      case "*":
        return { m: x.m * y.m, s: x.s + y.s };
    }
  }
  throw new EvalError(`Operator ${op} is not supported for ${type}`);
}

/** Round half to even, as C's rint() does under the default rounding mode. */
function rint(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 ? 2 * Math.round(x / 2) : r;
}

function roundDecimal(d: Decimal): bigint {
  if (d.s === 0) return d.m;
  const unit = 10n ** BigInt(d.s);
  const q = d.m / unit;
  const rest = d.m % unit;
  const twice = (rest < 0n ? -rest : rest) * 2n;
  // numeric rounds half away from zero
  if (twice >= unit) return d.m < 0n ? q - 1n : q + 1n;
  return q;
}

export function castValue(from: ScalarType, to: ScalarType, v: Value): Value {
  if (from === to) return v;
  if (INTEGER_TYPES.has(from)) {
    const n = v as bigint;
    if (INTEGER_TYPES.has(to)) return checkInt(to, n);
    if (to === "float8") return Number(n);
    if (to === "float4") return Math.fround(Number(n));
    if (to === "numeric") return { m: n, s: 0 };
    if (to === "text") return n.toString();
  }
  if (FLOAT_TYPES.has(from)) {
    const x = v as number;
    if (to === "float8") return x;
    if (to === "float4") return checkFloat("float4", x, [x], x === 0);
    if (INTEGER_TYPES.has(to)) {
      if (Number.isNaN(x) || !Number.isFinite(x)) throw new EvalError(`${to} out of range`);
      const r = rint(from === "float4" ? Math.fround(x) : x);
      return checkInt(to, BigInt(r));
    }
  }
  if (from === "numeric") {
    const d = v as Decimal;
    if (INTEGER_TYPES.has(to)) return checkInt(to, roundDecimal(d));
    if (to === "float8") return Number(`${d.m}e${-d.s}`);
  }
  if (from === "date" && to === "timestamp") return dateToTimestamp(v as number);
  if (from === "timestamp" && to === "date") return timestampToDate(v as bigint);
  if (from === "bool" && to === "text") return v ? "true" : "false";
  if (to === "text" && typeof v === "string") return v;
  throw new EvalError(`Cannot cast ${from} to ${to}`);
}
