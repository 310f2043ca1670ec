import { test } from "node:test";
import assert from "node:assert/strict";
import { closeReason } from "./connection.ts";

test("close reasons are cut to 123 bytes of UTF-8 at a character boundary", () => {
  assert.equal(closeReason("short"), "short");
  const ascii = "x".repeat(200);
  assert.equal(closeReason(ascii), "x".repeat(123));
  const wide = "é".repeat(100); // two bytes each
  const cut = closeReason(wide);
  assert.equal(cut, "é".repeat(61));
  assert.ok(new TextEncoder().encode(cut).length <= 123);
  const emoji = "😀".repeat(40); // four bytes each
  assert.equal(closeReason(emoji), "😀".repeat(30));
});
