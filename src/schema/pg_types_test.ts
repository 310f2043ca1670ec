import { test } from "node:test";
import assert from "node:assert/strict";
import { checkColumnType, formatPgType, parseTypeText, sqliteTypeFor } from "./pg_types.ts";
import type { PgType } from "./model.ts";

const t = (name: string, size: number[] = [], array: number[] = []): PgType => ({
  name,
  array,
  size,
});

test("accepted column types canonicalise (format_type text and short names)", () => {
  const cases: [string, string][] = [
    ["smallint", "int2"],
    ["int2", "int2"],
    ["integer", "int4"],
    ["int", "int4"],
    ["int4", "int4"],
    ["bigint", "int8"],
    ["int8", "int8"],
    ["real", "float4"],
    ["float4", "float4"],
    ["double precision", "float8"],
    ["float8", "float8"],
    ["text", "text"],
    ["character varying", "varchar"],
    ["varchar", "varchar"],
    ["boolean", "bool"],
    ["bool", "bool"],
    ["uuid", "uuid"],
    ["date", "date"],
    ["time without time zone", "time"],
    ["time", "time"],
    ["timestamp without time zone", "timestamp"],
    ["timestamp", "timestamp"],
    ["timestamp with time zone", "timestamptz"],
    ["timestamptz", "timestamptz"],
    ["jsonb", "jsonb"],
    ["bytea", "bytea"],
    ["  Double   Precision ", "float8"],
    ["pg_catalog.int4", "int4"],
  ];
  for (const [input, name] of cases) {
    assert.deepEqual(checkColumnType(input), { ok: true, type: t(name) }, input);
  }
});

test("rejected column types report the canonical short form", () => {
  const cases: [string, string][] = [
    ["character varying(10)", "varchar(10)"],
    ["varchar(255)", "varchar(255)"],
    ["character(1)", "bpchar(1)"],
    ["character(11)", "bpchar(11)"],
    ["char", "bpchar"],
    ["json", "json"],
    ["numeric", "numeric"],
    ["numeric(10,2)", "numeric(10,2)"],
    ["decimal", "numeric"],
    ["money", "money"],
    ["time with time zone", "timetz"],
    ["timetz", "timetz"],
    ["interval", "interval"],
    ["integer[]", "int4[]"],
    ["text[][]", "text[][]"],
    ["int4[3]", "int4[]"],
    ["time(3) without time zone", "time(3)"],
    ["timestamp(3) without time zone", "timestamp(3)"],
    ["timestamp(6) with time zone", "timestamptz(6)"],
    ["timestamptz(3)", "timestamptz(3)"],
    ["serial", "serial"],
    ["bigserial", "bigserial"],
    ["my_domain", "my_domain"],
    ["public.address", "public.address"],
    ['"char"', "char"],
    ["inet", "inet"],
  ];
  for (const [input, formatted] of cases) {
    assert.deepEqual(
      checkColumnType(input),
      { ok: false, code: "UNSUPPORTED_TYPE", formatted },
      input,
    );
  }
});

test("enums are accepted when every label is a plain identifier", () => {
  assert.deepEqual(checkColumnType("colour", ["red", "Green", "blue_2"]), {
    ok: true,
    type: t("public.colour"),
  });
  assert.deepEqual(checkColumnType("public.colour", ["red"]), {
    ok: true,
    type: t("public.colour"),
  });
  assert.deepEqual(checkColumnType("shape", ["1circle", "_square", "hello world", "ok"]), {
    ok: false,
    code: "UNSUPPORTED_TYPE",
    formatted:
      "shape (enum type shape contains unsupported values '1circle', '_square', 'hello world')",
  });
  assert.deepEqual(checkColumnType("colour[]", ["red"]), {
    ok: false,
    code: "UNSUPPORTED_TYPE",
    formatted: "colour[]",
  });
});

test("unparseable type text is refused as written", () => {
  assert.deepEqual(checkColumnType("int4; drop"), {
    ok: false,
    code: "UNSUPPORTED_TYPE",
    formatted: "int4; drop",
  });
});

test("parseTypeText keeps quoted names and schemas", () => {
  assert.deepEqual(parseTypeText('"My Schema"."Colour"')?.type, t("My Schema.Colour"));
  assert.deepEqual(parseTypeText("character varying(10)[]")?.type, t("varchar", [10], [-1]));
  assert.equal(parseTypeText(""), undefined);
});

test("formatPgType", () => {
  assert.equal(formatPgType(t("varchar", [255])), "varchar(255)");
  assert.equal(formatPgType(t("numeric", [10, 2], [-1])), "numeric(10,2)[]");
});

test("SQLite types follow §5.2", () => {
  const cases: [PgType, boolean, string][] = [
    [t("int2"), false, "INTEGER"],
    [t("int4"), false, "INTEGER"],
    [t("int8"), false, "INTEGER"],
    [t("float4"), false, "REAL"],
    [t("float8"), false, "REAL"],
    [t("numeric"), false, "REAL"],
    [t("money"), false, "REAL"],
    [t("text"), false, "TEXT"],
    [t("varchar"), false, "TEXT"],
    [t("varchar", [10]), false, "TEXT(10)"],
    [t("bpchar", [1]), false, "TEXT(1)"],
    [t("bytea"), false, "BLOB"],
    [t("date"), false, "TEXT"],
    [t("time"), false, "TEXT"],
    [t("timetz"), false, "TEXT"],
    [t("timestamp"), false, "TEXT"],
    [t("timestamptz"), false, "TEXT"],
    [t("bool"), false, "INTEGER"],
    [t("uuid"), false, "TEXT"],
    [t("json"), false, "TEXT_JSON"],
    [t("jsonb"), false, "TEXT_JSON"],
    [t("int4", [], [-1]), false, "TEXT_JSON"],
    [t("public.colour"), true, "TEXT"],
    [t("inet"), false, "TEXT"],
  ];
  for (const [type, isEnum, sqlite] of cases) {
    assert.equal(sqliteTypeFor(type, isEnum), sqlite, formatPgType(type));
  }
});
