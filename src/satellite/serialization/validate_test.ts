import { test } from "node:test";
import assert from "node:assert/strict";
import { validateValue } from "./mod.ts";
import { t, utf8 } from "./test_fixtures.ts";

// Client value (text) -> text handed to Postgres (postgres-side.md §6.2).
const ACCEPTED: [type: string, value: string, text?: string][] = [
  ["bool", "t"],
  ["bool", "f"],
  ["int2", "-32768"],
  ["int2", "32767"],
  ["int2", "+7"],
  ["int4", "-2147483648"],
  ["int4", "2147483647"],
  ["int8", "-9223372036854775808"],
  ["int8", "9223372036854775807"],
  ["float8", "0.10000000149011612"],
  ["float8", "1e+21"],
  ["float8", "-1.5E-300"],
  ["float8", ".5"],
  ["float8", "5."],
  ["float8", "-0"],
  ["float8", "4.9e-324"],
  ["float8", "Infinity", "Infinity"],
  ["float8", "inf", "Infinity"],
  ["float8", "INFINITY", "Infinity"],
  ["float8", "-inf", "-Infinity"],
  ["float8", "-Infinity", "-Infinity"],
  ["float8", "NaN", "NaN"],
  ["float8", "nan", "NaN"],
  ["float4", "3.4028234663852886e+38"],
  ["float4", "1.401298464324817e-45"],
  ["float4", "0"],
  ["float4", "0.0e-99"],
  ["float4", "-infinity", "-Infinity"],
  ["text", ""],
  ["text", "anything ' \\ \u{1f600}"],
  ["varchar", "x"],
  ["uuid", "9d1c3b2a-6f4e-4c8d-a1b2-c3d4e5f60718"],
  ["uuid", "9D1C3B2A-6F4E-4C8D-A1B2-C3D4E5F60718", "9d1c3b2a-6f4e-4c8d-a1b2-c3d4e5f60718"],
  ["date", "2024-02-29"],
  ["date", "0001-01-01"],
  ["date", "9999-12-31"],
  ["time", "00:00:00"],
  ["time", "23:59:59.999999"],
  ["time", "12:34:56.7"],
  ["timestamp", "2023-08-14 14:01:28.848"],
  ["timestamp", "2023-08-14T14:01:28"],
  ["timestamp", "2023-08-14 14:01:28.848242"],
  ["timestamptz", "2023-08-14 10:01:28.848Z"],
  ["timestamptz", "2024-06-01T12:00:00.123+00:00"],
  ["timestamptz", "2024-06-01T12:00:00+00"],
  ["timestamptz", "2024-06-01 12:00:00-00:00"],
  ["timestamptz", "2024-06-01 12:00:00+0000"],
  ["jsonb", '{"a":[1,2,{"b":null}]}'],
  ["jsonb", "3"],
  ["jsonb", ' "s" '],
  ["json", "[]"],
];

const REFUSED: [type: string, value: string][] = [
  ["bool", "true"],
  ["bool", "1"],
  ["bool", "T"],
  ["bool", ""],
  ["int2", "32768"],
  ["int2", "-32769"],
  ["int2", "70000"],
  ["int4", "2147483648"],
  ["int8", "9223372036854775808"],
  ["int8", "-9223372036854775809"],
  ["int4", "1.0"],
  ["int4", "1e3"],
  ["int4", " 1"],
  ["int4", ""],
  ["int4", "0x10"],
  ["float8", ""],
  ["float8", "1e400"],
  ["float8", "1e-400"],
  ["float8", "abc"],
  ["float8", "1,5"],
  ["float8", "+inf"],
  ["float8", "Infinityx"],
  ["float8", "0x10"],
  ["float4", "3.5e38"],
  ["float4", "-1e39"],
  ["float4", "1e-46"],
  ["text", "a\0b"],
  ["uuid", "9d1c3b2a6f4e4c8da1b2c3d4e5f60718"],
  ["uuid", "9d1c3b2a-6f4e-4c8d-a1b2-c3d4e5f6071"],
  ["uuid", "{9d1c3b2a-6f4e-4c8d-a1b2-c3d4e5f60718}"],
  ["uuid", "gd1c3b2a-6f4e-4c8d-a1b2-c3d4e5f60718"],
  ["date", "2023-13-01"],
  ["date", "2023-02-29"],
  ["date", "1900-02-29"],
  ["date", "2023-04-31"],
  ["date", "0000-01-01"],
  ["date", "10000-01-01"],
  ["date", "2023-1-01"],
  ["date", "2023-01-01 00:00:00"],
  ["time", "24:00:00"],
  ["time", "12:60:00"],
  ["time", "12:00:60"],
  ["time", "12:00"],
  ["time", "12:00:00.1234567"],
  ["time", "12:00:00+00"],
  ["timestamp", "2023-08-14 14:01:28Z"],
  ["timestamp", "2023-08-14 14:01:28+02:00"],
  ["timestamp", "2023-13-14 14:01:28"],
  ["timestamp", "2023-08-14"],
  ["timestamp", "2023-08-14  14:01:28"],
  ["timestamptz", "2023-08-14 10:01:28+02"],
  ["timestamptz", "2023-08-14 10:01:28.848-05:00"],
  ["timestamptz", "2023-08-14 10:01:28+00:30"],
  ["timestamptz", "2023-08-14 10:01:28"],
  ["timestamptz", "2023-08-14 10:01:28 UTC"],
  ["timestamptz", "0000-08-14 10:01:28Z"],
  ["timestamptz", "2023-02-30T10:01:28Z"],
  ["jsonb", "{"],
  ["jsonb", "{'a': 1}"],
  ["jsonb", ""],
  ["json", "[1,]"],
  ["timetz", "12:00:00+00"],
  ["numeric", "1.5"],
];

for (const [type, value, text] of ACCEPTED) {
  test(`validateValue accepts ${type} ${JSON.stringify(value)}`, () => {
    assert.deepEqual(validateValue(t(type), false, undefined, value), {
      ok: true,
      text: text ?? value,
    });
    // Clients send text as UTF-8 bytes; both forms validate alike.
    assert.deepEqual(validateValue(t(type), false, undefined, utf8(value)), {
      ok: true,
      text: text ?? value,
    });
  });
}

for (const [type, value] of REFUSED) {
  test(`validateValue refuses ${type} ${JSON.stringify(value)}`, () => {
    const out = validateValue(t(type), false, undefined, value);
    assert.equal(out.ok, false);
    if (!out.ok) assert.match(out.message, /^(Invalid|Unsupported) /);
  });
}

test("validateValue: messages say what failed and quote the value", () => {
  const out = validateValue(t("int2"), false, undefined, "70000");
  assert.deepEqual(out, { ok: false, message: 'Invalid int2 value "70000": out of range' });
  const tz = validateValue(t("timestamptz"), false, undefined, "2023-08-14 10:01:28+02");
  assert.deepEqual(tz, {
    ok: false,
    message: 'Invalid timestamptz value "2023-08-14 10:01:28+02": offset is not zero',
  });
  const long = validateValue(t("jsonb"), false, undefined, "[" + "1,".repeat(100));
  assert.ok(!long.ok && long.message.length < 120);
});

test("validateValue: enum labels", () => {
  const colour = t("public.colour");
  const labels = ["red", "green"];
  assert.deepEqual(validateValue(colour, true, labels, "red"), { ok: true, text: "red" });
  assert.deepEqual(validateValue(colour, true, labels, utf8("green")), {
    ok: true,
    text: "green",
  });
  for (const bad of ["RED", "purple", "", "red "]) {
    assert.equal(validateValue(colour, true, labels, bad).ok, false, bad);
  }
  assert.equal(validateValue(colour, true, undefined, "red").ok, false);
});

test("validateValue: bytea takes any bytes and becomes \\x hex", () => {
  const cases: [Uint8Array | string, string][] = [
    [new Uint8Array(0), "\\x"],
    [Uint8Array.of(0, 0xff, 0x5c, 0x27), "\\x00ff5c27"],
    [Uint8Array.of(0xc3, 0x28), "\\xc328"],
    ["é", "\\xc3a9"],
  ];
  for (const [value, text] of cases) {
    assert.deepEqual(validateValue(t("bytea"), false, undefined, value), { ok: true, text });
  }
});

test("validateValue: text bytes must be UTF-8", () => {
  const out = validateValue(t("text"), false, undefined, Uint8Array.of(0xc3, 0x28));
  assert.equal(out.ok, false);
});

test("validateValue: arrays are unsupported", () => {
  const out = validateValue({ name: "int4", array: [-1], size: [] }, false, undefined, "{1}");
  assert.deepEqual(out, { ok: false, message: 'Unsupported type "int4[]"' });
});
