import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadPgParser } from "./wasm.ts";

test("the parser loads once and is shared", async () => {
  const [a, b] = await Promise.all([loadPgParser(), loadPgParser()]);
  assert.equal(a, b);
  assert.equal(a.parse("SELECT 1").ok, true);
  assert.deepEqual(a.scan("SELECT 'é'").map((t) => [t.start, t.end, t.text]), [
    [0, 6, "SELECT"],
    [7, 11, "'é'"],
  ]);
});

test("tokens holding control characters are scanned", async () => {
  const parser = await loadPgParser();
  assert.deepEqual(parser.scan("SELECT 1\b '\x01\t'").map((t) => t.text), [
    "SELECT",
    "1",
    "\b",
    "'\x01\t'",
  ]);
});

// `bun build --compile` embeds only assets its bundler sees; this is what keeps the parser
// loadable in the compiled binary when no node_modules exists next to it.
test("Bun's bundler sees the .wasm file as an asset", () => {
  const root = fileURLToPath(new URL("../../", import.meta.url));
  const bun = join(root, "node_modules", ".bin", "bun");
  if (!existsSync(bun)) return;
  const out = mkdtempSync(join(tmpdir(), "schema-wasm-"));
  try {
    execFileSync(
      bun,
      ["build", join(root, "src/schema/wasm.ts"), "--target", "bun", "--outdir", out],
      { stdio: "pipe" },
    );
    assert.ok(readdirSync(out).some((f) => f.endsWith(".wasm")), readdirSync(out).join(", "));
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
