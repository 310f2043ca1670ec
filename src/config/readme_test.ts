import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import {
  END_MARKER,
  renderConfigTable,
  replaceConfigTable,
  START_MARKER,
} from "../../scripts/config_table.ts";

test("README's configuration table is what scripts/config_table.ts generates", () => {
  const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
  const start = readme.indexOf(START_MARKER) + START_MARKER.length;
  const end = readme.indexOf(END_MARKER);
  assert.ok(start >= START_MARKER.length && end > start, "markers present");
  assert.equal(
    readme.slice(start, end),
    `\n\n${renderConfigTable()}\n`,
    "run `deno run -A scripts/config_table.ts --write`",
  );
  assert.equal(replaceConfigTable(readme), readme);
});
