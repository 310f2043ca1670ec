/**
 * scripts/install.sh (the one-line install) against a local HTTP server laid out like GitHub
 * releases (`/download/vX/FILE`, `/latest/download/FILE`), serving a fake asset and its
 * SHA256SUMS. Run with `sh` (dash on Debian) as `curl … | sh` would; uname is overridden by
 * ELECTRIC_UNAME_S/M so every case is deterministic on any host.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { createServer, type Server } from "node:http";
import { type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { test } from "node:test";

const SCRIPT = fileURLToPath(new URL("../../scripts/install.sh", import.meta.url));
const VERSION = "1.2.3";

interface Release {
  base: string;
  /** Paths requested so far. */
  requests: string[];
  close(): Promise<void>;
}

/** A fake program per target, so the test can tell which one was installed. */
function fakeAsset(target: string): Buffer {
  return Buffer.from(`#!/bin/sh\necho "fake electric ${VERSION} ${target}"\n`);
}

function sha256(data: Buffer): string {
  return createHash("sha256").update(data).digest("hex");
}

/** Serves release v1.2.3 with linux-x64 and linux-arm64 assets; `corrupt` changes one byte. */
async function serveRelease(options: { corrupt?: boolean } = {}): Promise<Release> {
  const files = new Map<string, Buffer>();
  const sums: string[] = [];
  for (const target of ["linux-x64", "linux-arm64"]) {
    const name = `electric-${VERSION}-${target}`;
    const data = fakeAsset(target);
    sums.push(`${sha256(data)}  ${name}`);
    files.set(name, options.corrupt ? Buffer.concat([data, Buffer.from("#")]) : data);
  }
  files.set("SHA256SUMS", Buffer.from(sums.join("\n") + "\n"));
  const requests: string[] = [];
  const server: Server = createServer((request, response) => {
    const path = request.url ?? "";
    requests.push(path);
    const match = path.match(/^\/releases\/(?:download\/v1\.2\.3|latest\/download)\/([^/]+)$/);
    const body = match ? files.get(match[1]) : undefined;
    if (!body) {
      response.writeHead(404).end("Not Found");
      return;
    }
    response.writeHead(200, { "content-length": String(body.length) }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    base: `http://127.0.0.1:${port}/releases`,
    requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

interface Result {
  code: number | null;
  stderr: string;
}

/** Runs install.sh asynchronously (the server lives in this process). */
function install(env: Record<string, string>): Promise<Result> {
  return new Promise((resolve) => {
    execFile("sh", [SCRIPT], {
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...env },
      timeout: 30_000,
    }, (error, _stdout, stderr) => {
      const code = error ? (typeof error.code === "number" ? error.code : null) : 0;
      resolve({ code, stderr: String(stderr) });
    });
  });
}

function runProgram(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(path, [], (error, stdout) => error ? reject(error) : resolve(String(stdout)));
  });
}

async function withRelease(
  options: { corrupt?: boolean },
  body: (release: Release, home: string, env: Record<string, string>) => Promise<void>,
): Promise<void> {
  const release = await serveRelease(options);
  const home = mkdtempSync(join(tmpdir(), "electric-install-"));
  try {
    await body(release, home, {
      HOME: home,
      ELECTRIC_DOWNLOAD_BASE: release.base,
      ELECTRIC_UNAME_S: "Linux",
      ELECTRIC_UNAME_M: "x86_64",
    });
  } finally {
    await release.close();
    rmSync(home, { recursive: true, force: true });
  }
}

test("installs the latest release's asset for the platform, checksum verified", async () => {
  await withRelease({}, async (release, home, env) => {
    const result = await install(env);
    assert.equal(result.code, 0, result.stderr);
    const installed = join(home, ".local", "bin", "electric");
    assert.deepEqual(readFileSync(installed), fakeAsset("linux-x64"));
    assert.equal(await runProgram(installed), `fake electric ${VERSION} linux-x64\n`);
    assert.match(result.stderr, /installed electric 1\.2\.3 \(linux-x64\)/);
    assert.deepEqual(release.requests, [
      "/releases/latest/download/SHA256SUMS",
      `/releases/download/v${VERSION}/electric-${VERSION}-linux-x64`,
    ]);
  });
});

test("installs a given version for arm64 into ELECTRIC_INSTALL_DIR", async () => {
  await withRelease({}, async (release, home, env) => {
    const dir = join(home, "custom bin");
    const result = await install({
      ...env,
      ELECTRIC_UNAME_M: "aarch64",
      ELECTRIC_VERSION: `v${VERSION}`,
      ELECTRIC_INSTALL_DIR: dir,
    });
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(readFileSync(join(dir, "electric")), fakeAsset("linux-arm64"));
    assert.deepEqual(readdirSync(dir), ["electric"], "no temporary file is left behind");
    assert.equal(release.requests[0], `/releases/download/v${VERSION}/SHA256SUMS`);
  });
});

test("a corrupted asset fails the checksum and installs nothing", async () => {
  await withRelease({ corrupt: true }, async (_release, home, env) => {
    const dir = join(home, "bin");
    const result = await install({ ...env, ELECTRIC_INSTALL_DIR: dir });
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /error: checksum mismatch for electric-1\.2\.3-linux-x64/);
    assert.equal(existsSync(dir), false, "nothing installed");

    // An earlier install is left as it was.
    const old = join(home, "old");
    const previous = Buffer.from("previous electric");
    mkdirSync(old, { recursive: true });
    writeFileSync(join(old, "electric"), previous);
    const again = await install({ ...env, ELECTRIC_INSTALL_DIR: old });
    assert.notEqual(again.code, 0);
    assert.deepEqual(readFileSync(join(old, "electric")), previous);
    assert.deepEqual(readdirSync(old), ["electric"]);
  });
});

test("unsupported platforms get a clear error before any download", async () => {
  await withRelease({}, async (release, _home, env) => {
    const cases: [Record<string, string>, RegExp][] = [
      [{ ELECTRIC_UNAME_M: "riscv64" }, /unsupported CPU architecture 'riscv64'/],
      [{ ELECTRIC_UNAME_M: "i686" }, /unsupported CPU architecture 'i686'/],
      [{ ELECTRIC_UNAME_S: "FreeBSD" }, /unsupported operating system 'FreeBSD'/],
      [{ ELECTRIC_UNAME_S: "MINGW64_NT-10.0" }, /Windows is not supported by this script/],
    ];
    for (const [override, message] of cases) {
      const result = await install({ ...env, ...override });
      assert.equal(result.code, 1, result.stderr);
      assert.match(result.stderr, /^electric install: error: /m);
      assert.match(result.stderr, message);
    }
    assert.deepEqual(release.requests, []);
  });
});

test("a release without the platform's asset is a clear error", async () => {
  await withRelease({}, async (_release, home, env) => {
    const darwin = await install({ ...env, ELECTRIC_UNAME_S: "Darwin" });
    assert.equal(darwin.code, 1);
    assert.match(darwin.stderr, /the latest release has no binary for darwin-x64/);
    const missing = await install({ ...env, ELECTRIC_VERSION: "9.9.9" });
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /could not download '.*\/download\/v9\.9\.9\/SHA256SUMS'/);
    assert.equal(existsSync(join(home, ".local")), false);
  });
});

test("wget works as the downloader too", async (t) => {
  const hasWget = (process.env.PATH ?? "").split(":").some((dir) => existsSync(join(dir, "wget")));
  if (!hasWget) {
    t.skip("wget is not installed");
    return;
  }
  await withRelease({}, async (_release, home, env) => {
    const result = await install({ ...env, ELECTRIC_DOWNLOADER: "wget" });
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(readFileSync(join(home, ".local/bin/electric")), fakeAsset("linux-x64"));
  });
});
