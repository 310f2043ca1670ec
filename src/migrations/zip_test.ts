import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inflateRawSync } from "node:zlib";
import { crc32, createZip } from "./zip.ts";

const text = (s: string) => new TextEncoder().encode(s);

test("crc32 matches the standard check value", () => {
  assert.equal(crc32(text("123456789")), 0xcbf43926);
});

/** Reads entries back by walking the central directory, as unzip tools do. */
function readZip(zip: Uint8Array): Record<string, string> {
  const view = new DataView(zip.buffer, zip.byteOffset, zip.byteLength);
  const endAt = zip.length - 22;
  assert.equal(view.getUint32(endAt, true), 0x06054b50);
  const count = view.getUint16(endAt + 10, true);
  let at = view.getUint32(endAt + 16, true);
  const out: Record<string, string> = {};
  for (let i = 0; i < count; i++) {
    assert.equal(view.getUint32(at, true), 0x02014b50);
    const size = view.getUint32(at + 20, true);
    const nameLength = view.getUint16(at + 28, true);
    const localAt = view.getUint32(at + 42, true);
    const name = new TextDecoder().decode(zip.subarray(at + 46, at + 46 + nameLength));
    const localNameLength = view.getUint16(localAt + 26, true);
    const dataAt = localAt + 30 + localNameLength;
    const data = inflateRawSync(zip.subarray(dataAt, dataAt + size));
    assert.equal(crc32(new Uint8Array(data)), view.getUint32(at + 16, true));
    out[name] = new TextDecoder().decode(data);
    at += 46 + nameLength;
  }
  return out;
}

test("entries round-trip through the central directory", () => {
  const zip = createZip([
    { name: "20240101/migration.sql", data: text("CREATE TABLE x;") },
    { name: "20240101/metadata.json", data: text('{"a":1}') },
  ]);
  assert.deepEqual(readZip(zip), {
    "20240101/migration.sql": "CREATE TABLE x;",
    "20240101/metadata.json": '{"a":1}',
  });
});

test("a standard unzip tool reads it, when one is installed", (t) => {
  const dir = mkdtempSync(join(tmpdir(), "zip-test-"));
  try {
    const file = join(dir, "a.zip");
    writeFileSync(file, createZip([{ name: "v1/migration.sql", data: text("hello\n".repeat(50)) }]));
    try {
      execFileSync("python3", ["-c", `import zipfile; zipfile.ZipFile(${JSON.stringify(file)}).extractall(${JSON.stringify(dir)})`]);
    } catch {
      t.skip("python3 is not available");
      return;
    }
    assert.equal(readFileSync(join(dir, "v1/migration.sql"), "utf8"), "hello\n".repeat(50));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
