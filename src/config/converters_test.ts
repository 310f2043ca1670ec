import { test } from "node:test";
import assert from "node:assert/strict";
import * as v from "valibot";
import { asInteger, oneOf, parseBoolean, parseLenientInteger, schemaOf } from "./converters.ts";

test("booleans: only false, 0 and the empty string are false (any case)", () => {
  for (const raw of ["false", "FALSE", "False", "0", ""]) {
    assert.equal(parseBoolean(raw), false, raw);
  }
  for (const raw of ["true", "1", "no", "off", "disabled", "n", " false", "00"]) {
    assert.equal(parseBoolean(raw), true, raw);
  }
});

test("integers: trailing junk ignored, empty is 0, sign allowed", () => {
  assert.equal(parseLenientInteger("5133abc"), 5133);
  assert.equal(parseLenientInteger("8080x"), 8080);
  assert.equal(parseLenientInteger(""), 0);
  assert.equal(parseLenientInteger("+5"), 5);
  assert.equal(parseLenientInteger("-12"), -12);
  assert.equal(parseLenientInteger("42"), 42);
  for (const raw of ["abc", " 5", "-", "+", "x1"]) {
    assert.equal(parseLenientInteger(raw), undefined, raw);
  }
});

test("integer failure names the variable", () => {
  const parsed = asInteger("HTTP_PORT")("abc");
  assert.equal(parsed.ok, false);
  if (!parsed.ok) assert.match(parsed.message, /^Error converting variable HTTP_PORT to integer: /);
});

test("oneOf is case-sensitive and lists the shown values", () => {
  const check = oneOf("X", ["a", "b", "hidden"], ["a", "b"]);
  assert.deepEqual(check("a"), { ok: true, value: "a" });
  assert.deepEqual(check("hidden"), { ok: true, value: "hidden" });
  assert.deepEqual(check("A"), {
    ok: false,
    message: 'X has invalid value: "A". Must be one of ["a", "b"]',
  });
});

test("schemaOf applies the string default before converting and reports the message", () => {
  const schema = schemaOf(asInteger("N"), "7");
  assert.deepEqual(v.parse(schema, undefined), 7);
  assert.deepEqual(v.parse(schema, "9z"), 9);
  const bad = v.safeParse(schema, "z");
  assert.equal(bad.success, false);
  assert.match(bad.issues?.[0].message ?? "", /^Error converting variable N to integer/);
});
