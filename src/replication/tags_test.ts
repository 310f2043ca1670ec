import { test } from "node:test";
import assert from "node:assert/strict";
import {
  clientTag,
  parseArrayLiteral,
  parseRecordLiteral,
  parseTag,
  parseTagArray,
  parseTimestamptz,
} from "./tags.ts";

test("array literals: quoting, escapes, NULL and empty", () => {
  assert.deepEqual(parseArrayLiteral("{}"), []);
  assert.deepEqual(parseArrayLiteral("{a,b}"), ["a", "b"]);
  assert.deepEqual(parseArrayLiteral('{"a,b",NULL,"NULL",""}'), ["a,b", null, "NULL", ""]);
  assert.deepEqual(parseArrayLiteral('{"say \\"hi\\"","back\\\\slash"}'), [
    'say "hi"',
    "back\\slash",
  ]);
  assert.deepEqual(parseArrayLiteral("[0:1]={x,y}"), ["x", "y"]);
  assert.equal(parseArrayLiteral("not an array"), undefined);
  assert.equal(parseArrayLiteral('{"unterminated}'), undefined);
});

test("record literals: empty unquoted field is NULL, doubled quotes unescape", () => {
  assert.deepEqual(parseRecordLiteral('("2023-06-15 11:18:05.372+00",)'), [
    "2023-06-15 11:18:05.372+00",
    null,
  ]);
  assert.deepEqual(parseRecordLiteral('(x,"")'), ["x", ""]);
  assert.deepEqual(parseRecordLiteral('(x,"a ""quoted"", (client)")'), [
    "x",
    'a "quoted", (client)',
  ]);
  assert.deepEqual(parseRecordLiteral('(x,"back\\\\slash")'), ["x", "back\\slash"]);
  assert.equal(parseRecordLiteral("x,y"), undefined);
});

test("timestamptz in ISO output style, any offset, to unix milliseconds", () => {
  const expected = Date.parse("2023-06-15T11:18:05.372Z");
  assert.equal(parseTimestamptz("2023-06-15 11:18:05.372+00"), expected);
  assert.equal(parseTimestamptz("2023-06-15 11:18:05.372999+00"), expected);
  assert.equal(parseTimestamptz("2023-06-15 13:18:05.372+02"), expected);
  assert.equal(parseTimestamptz("2023-06-15 16:48:05.372+05:30"), expected);
  assert.equal(parseTimestamptz("2023-06-15 07:18:05.372-04"), expected);
  assert.equal(parseTimestamptz("2023-06-15T11:18:05.372Z"), expected);
  assert.equal(parseTimestamptz("2023-06-15 11:18:05+00"), Date.parse("2023-06-15T11:18:05Z"));
  assert.equal(parseTimestamptz("infinity"), undefined);
  assert.equal(parseTimestamptz("2023-06-15 11:18:05+00 BC"), undefined);
});

test("tags: NULL source becomes the origin in client form", () => {
  const pg = parseTag('("2023-06-15 11:18:05.372+00",)');
  assert.deepEqual(pg, { timestampMs: 1686827885372, source: null });
  assert.equal(clientTag(pg!, "postgres_1"), "postgres_1@1686827885372");
  const client = parseTag('("1970-01-01 00:00:00+00",client-1)');
  assert.equal(clientTag(client!, "postgres_1"), "client-1@0");
  assert.equal(parseTag("()"), undefined);
  assert.equal(parseTag('(,"x")'), undefined);
});

test("_tags arrays of tags as Postgres prints them", () => {
  const text = '{"(\\"2023-06-15 11:18:05.372+00\\",)",' +
    '"(\\"2023-06-15 11:18:06+00\\",\\"client,\\"\\"odd\\"\\"\\")"}';
  assert.deepEqual(parseTagArray(text).map((t) => clientTag(t, "postgres_1")), [
    "postgres_1@1686827885372",
    'client,"odd"@1686827886000',
  ]);
  assert.deepEqual(parseTagArray("{}"), []);
  assert.deepEqual(parseTagArray("{NULL,garbage}"), []);
});
