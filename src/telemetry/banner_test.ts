import { test } from "node:test";
import assert from "node:assert/strict";
import { configurationErrorBody, formatBanner } from "./banner.ts";

test("draws the titled box with every line prefixed", () => {
  const text = formatBanner("CONFIGURATION ERROR", configurationErrorBody("Intro:", ["A not set"]));
  const lines = text.trimEnd().split("\n");
  assert.equal(lines[0], "▓ ┌───────────────────────┐");
  assert.equal(lines[1], "▓ │  CONFIGURATION ERROR  │");
  assert.equal(lines[2], "▓ ┕━━━━━━━━━━━━━━━━━━━━━━━┙");
  assert.ok(lines.includes("▓   * A not set"));
  assert.ok(lines.every((l) => l.startsWith("▓ ")));
});
