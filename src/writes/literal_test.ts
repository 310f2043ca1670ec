import { test } from "node:test";
import assert from "node:assert/strict";
import type { PgType } from "../schema/mod.ts";
import { pgLiteral } from "./literal.ts";

const t = (name: string): PgType => ({ name, array: [], size: [] });

const CASES: [type: string, value: string | null, literal: string][] = [
  ["text", null, "NULL"],
  ["int4", null, "NULL"],
  ["bool", "t", "true"],
  ["bool", "f", "false"],
  ["int2", "-32768", "(-32768)::int2"],
  ["int4", "42", "42::int4"],
  ["int4", "+42", "(+42)::int4"],
  ["int8", "-9223372036854775808", "(-9223372036854775808)::int8"],
  ["float8", "3.14", "3.14::float8"],
  ["float8", "1e+100", "1e+100::float8"],
  ["float8", "-0", "(-0::float8)"],
  ["float4", "-1.5e-7", "(-1.5e-7::float4)"],
  ["float8", "Infinity", "'Infinity'::float8"],
  ["float8", "-Infinity", "'-Infinity'::float8"],
  ["float4", "NaN", "'NaN'::float4"],
  ["text", "", "''::text"],
  ["text", "it's", "'it''s'::text"],
  ["text", "'); DROP TABLE items; --", "'''); DROP TABLE items; --'::text"],
  ["text", "back\\slash", "E'back\\\\slash'::text"],
  ["text", "\\'; DROP TABLE items; --", "E'\\\\''; DROP TABLE items; --'::text"],
  ["text", "line\nbreak", "'line\nbreak'::text"],
  ["varchar", "v", "'v'::varchar"],
  ["uuid", "9d1c3b2a-6f4e-4c8d-a1b2-c3d4e5f60718", "'9d1c3b2a-6f4e-4c8d-a1b2-c3d4e5f60718'::uuid"],
  ["date", "2024-02-29", "'2024-02-29'::date"],
  ["time", "12:00:00.5", "'12:00:00.5'::time"],
  ["timestamp", "2024-06-01T12:00:00", "'2024-06-01T12:00:00'::timestamp"],
  ["timestamptz", "2024-06-01 12:00:00Z", "'2024-06-01 12:00:00Z'::timestamptz"],
  ["jsonb", `{"a":"it's"}`, `'{"a":"it''s"}'::jsonb`],
  ["bytea", "\\xdead00", "E'\\\\xdead00'::bytea"],
  ["public.colour", "red", `'red'::"public"."colour"`],
  ['public.Odd"Name', "x", `'x'::"public"."Odd""Name"`],
  // Not numbers after all: quoted, never spliced in.
  ["int4", "1; DROP TABLE items", "'1; DROP TABLE items'::int4"],
  ["float8", "1)--", "'1)--'::float8"],
  ["bool", "maybe", "'maybe'::bool"],
];

for (const [type, value, literal] of CASES) {
  test(`pgLiteral ${type} ${JSON.stringify(value)}`, () => {
    assert.equal(pgLiteral(t(type), value), literal);
  });
}

test("pgLiteral: type modifiers are not part of the cast", () => {
  assert.equal(pgLiteral({ name: "varchar", array: [], size: [3] }, "abcdef"), "'abcdef'::varchar");
});

test("pgLiteral: a quoted literal never ends early", () => {
  // Whatever the text, stripping the doubled quotes leaves no lone quote inside the literal.
  for (const text of ["'", "''", "a'b'c", "\\'", "\\\\'", "'\\"]) {
    const lit = pgLiteral(t("text"), text);
    const body = lit.replace(/^E?'/, "").replace(/'::text$/, "");
    assert.equal(body.replaceAll("''", "").includes("'"), false, lit);
  }
});
