// Fails when src/gen/ no longer matches what scripts/gen_proto makes from proto/satellite.proto,
// i.e. someone edited the .proto (or a generated file) without regenerating. It lives here rather
// than in src/gen/ because that folder holds generated files only.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const GEN = join(ROOT, "src", "gen");

test("src/gen is what scripts/gen_proto generates from proto/", { timeout: 60_000 }, () => {
  const out = mkdtempSync(join(tmpdir(), "gen_proto-"));
  try {
    try {
      execFileSync("bash", [join(ROOT, "scripts", "gen_proto"), out], { stdio: "pipe" });
    } catch (error) {
      const stderr = (error as { stderr?: Uint8Array }).stderr;
      const detail = stderr?.length ? new TextDecoder().decode(stderr).trim() : String(error);
      assert.fail(
        `Cannot run scripts/gen_proto (buf and protoc-gen-es come from 'npm install'): ${detail}`,
      );
    }
    const fresh = readdirSync(join(out, "src", "gen")).sort();
    const checkedIn = readdirSync(GEN).sort();
    assert.deepEqual(checkedIn, fresh, "src/gen/ has other files than the generator makes");
    for (const name of fresh) {
      const same = readFileSync(join(GEN, name), "utf8") ===
        readFileSync(join(out, "src", "gen", name), "utf8");
      assert.ok(same, `src/gen/${name} is stale: run scripts/gen_proto and commit the result`);
    }
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
