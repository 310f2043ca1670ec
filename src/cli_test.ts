import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { parseCommandLine, usageText, versionText } from "./cli.ts";
import { OPTIONS } from "./config/mod.ts";
import { SERVICE_VERSION } from "./version.ts";

test("no arguments runs the service; --dev runs dev mode", () => {
  assert.deepEqual(parseCommandLine([]), { kind: "run", dev: false });
  assert.deepEqual(parseCommandLine(["--dev"]), { kind: "run", dev: true });
});

test("--help and --version win wherever they are", () => {
  for (const flag of ["--help", "-h"]) {
    assert.deepEqual(parseCommandLine(["--dev", flag]), { kind: "help" });
  }
  for (const flag of ["--version", "-V"]) {
    assert.deepEqual(parseCommandLine([flag, "--bogus"]), { kind: "version" });
  }
});

test("an unknown argument is refused, named in the message", () => {
  const refused = parseCommandLine(["--dev", "--port=1"]);
  assert.equal(refused.kind, "refused");
  assert.match((refused as { message: string }).message, /--port=1/);
});

test("the usage lists every variable with its default", () => {
  const usage = usageText();
  assert.match(usage, /^Usage: electric \[--dev\]/);
  for (const option of OPTIONS) {
    assert.match(usage, new RegExp(`^  ${option.env} `, "m"), option.env);
  }
  assert.match(usage, /HTTP_PORT +.*\(default: 5133\)/);
});

test("the version names this release, the protocol it follows and the runtime", () => {
  assert.match(
    versionText("bun"),
    /^electric \d+\.\d+\.\d+ \(ElectricSQL 0\.12\.1 compatible, bun/,
  );
});

test("SERVICE_VERSION is package.json's version", () => {
  const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"));
  assert.equal(SERVICE_VERSION, pkg.version);
});

test("deno tasks name deno by path: `deno task` would run the npm package's native binary as JS", () => {
  const deno = JSON.parse(readFileSync(new URL("../deno.json", import.meta.url), "utf8"));
  for (const [name, command] of Object.entries(deno.tasks as Record<string, string>)) {
    assert.doesNotMatch(command, /(^|[;&|]\s*)deno\s/, `task ${name}: ${command}`);
  }
});
