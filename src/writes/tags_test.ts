import { test } from "node:test";
import assert from "node:assert/strict";
import { parseClientTag, tagArrayText, tagText } from "./tags.ts";

test("client tags parse into source and milliseconds; postgres_1 is the NULL source", () => {
  assert.deepEqual(parseClientTag("9d1c-0718@1717243380123"), {
    ms: 1717243380123n,
    source: "9d1c-0718",
  });
  assert.deepEqual(parseClientTag("postgres_1@0"), { ms: 0n, source: null });
  for (const bad of ["", "@1", "x@", "x@abc", "x@1e5"]) {
    assert.equal(parseClientTag(bad), undefined, bad);
  }
});

test("Postgres forms of tags and tag arrays", () => {
  assert.equal(tagText({ ms: 1686827885372n, source: "c1" }), '("2023-06-15T11:18:05.372Z","c1")');
  assert.equal(tagText({ ms: 0n, source: null }), '("1970-01-01T00:00:00.000Z",)');
  assert.equal(
    tagArrayText([{ ms: 0n, source: null }, { ms: 1n, source: 'a"b' }]),
    '{"(\\"1970-01-01T00:00:00.000Z\\",)","(\\"1970-01-01T00:00:00.001Z\\",\\"a\\\\\\"b\\")"}',
  );
});
