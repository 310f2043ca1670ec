/**
 * The release pipeline, as far as this machine can check it: `scripts/build` for the host's
 * target produces a working binary (other targets make Bun download their runtime, which this
 * machine cannot, so only the host's is built here; .github/workflows/release.yml builds them
 * all); the workflow's structure (a lint of its YAML: triggers, gate, every target, checksums,
 * release, multi-arch image, pinned actions); and the Dockerfile's Bun agreeing with the lock.
 * The host build takes about a second (Bun reuses its own runtime), so it is built afresh
 * into a temp dir rather than relying on dist/electric.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { test } from "node:test";
import { SERVICE_VERSION } from "../../src/version.ts";
import { parseYamlSubset, type YamlValue } from "../helpers/yaml_subset.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const TARGETS = ["linux-x64", "linux-arm64", "darwin-x64", "darwin-arm64", "windows-x64"];

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(
  file: string,
  args: string[],
  options: { env?: Record<string, string>; timeoutMs?: number; cwd?: string } = {},
): Promise<Run> {
  return new Promise((resolve) => {
    execFile(file, args, {
      cwd: options.cwd ?? ROOT,
      env: options.env ?? withLocalBin(),
      timeout: options.timeoutMs ?? 60_000,
      maxBuffer: 16 * 1024 * 1024,
    }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === "number" ? error.code : null) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

/** The project's bun (a devDependency) first on PATH, as scripts/test arranges. */
function withLocalBin(): Record<string, string> {
  return {
    PATH: `${join(ROOT, "node_modules", ".bin")}:${process.env.PATH ?? "/usr/bin:/bin"}`,
    HOME: process.env.HOME ?? tmpdir(),
  };
}

function hostTarget(): string {
  const os = ({ linux: "linux", darwin: "darwin", win32: "windows" } as Record<string, string>)[
    process.platform
  ];
  const arch = ({ x64: "x64", arm64: "arm64" } as Record<string, string>)[process.arch];
  assert.ok(os && arch, `no release target for this host (${process.platform}-${process.arch})`);
  return `${os}-${arch}`;
}

test("scripts/build <host target> builds a binary that starts", { timeout: 120_000 }, async () => {
  const target = hostTarget();
  const dir = mkdtempSync(join(tmpdir(), "electric-build-"));
  try {
    const name = `electric-${target}${target.startsWith("windows") ? ".exe" : ""}`;
    const binary = join(dir, name);
    // Run from elsewhere: a relative OUTFILE is relative to the caller's directory.
    const built = await run("bash", [join(ROOT, "scripts/build"), target, name], { cwd: dir });
    assert.equal(built.code, 0, built.stdout + built.stderr);
    assert.match(built.stdout, new RegExp(`for bun-${target}`));
    const stat = statSync(binary);
    assert.ok(stat.size > 1_000_000, `${binary} is only ${stat.size} bytes`);
    assert.ok((stat.mode & 0o111) !== 0, `${binary} is not executable`);

    // Without DATABASE_URL the service refuses to start with a configuration error (exit 1).
    const started = await run(binary, [], {
      env: { PATH: "/usr/bin:/bin", HOME: dir },
      timeoutMs: 20_000,
    });
    assert.equal(started.code, 1, started.stdout + started.stderr);
    assert.match(started.stdout + started.stderr, /DATABASE_URL/);

    // --version names this release (the workflow checks it against the tag).
    const version = await run(binary, ["--version"], { env: { PATH: "/usr/bin:/bin" } });
    assert.equal(version.code, 0, version.stdout + version.stderr);
    assert.match(
      version.stdout,
      new RegExp(`^electric ${SERVICE_VERSION.replaceAll(".", "\\.")} `),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("scripts/build refuses a bad target with the usage and exit 2", async () => {
  for (const args of [["linux-x86"], ["--target", "bun-freebsd-x64"], ["darwin-arm64-musl"]]) {
    const result = await run("bash", ["scripts/build", ...args]);
    assert.equal(result.code, 2, `${args.join(" ")}: ${result.stdout}${result.stderr}`);
    assert.match(result.stderr, /unsupported target/);
    assert.match(result.stderr, /Usage: scripts\/build/);
    for (const target of TARGETS) assert.match(result.stderr, new RegExp(target));
  }
});

test("the Dockerfile builds with the exact Bun of package.json and the lock file", () => {
  const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8"));
  const lock = JSON.parse(readFileSync(join(ROOT, "package-lock.json"), "utf8"));
  const dockerfile = readFileSync(join(ROOT, "Dockerfile"), "utf8");
  const wanted = pkg.devDependencies?.bun;
  assert.match(wanted ?? "", /^\d+\.\d+\.\d+$/, "package.json must pin bun exactly");
  assert.equal(lock.packages?.["node_modules/bun"]?.version, wanted, "package-lock.json's bun");
  const images = [...dockerfile.matchAll(/^FROM\s+(?:--platform=\S+\s+)?oven\/bun:(\S+)/gm)];
  assert.ok(images.length > 0, "the Dockerfile has no oven/bun stage");
  for (const [line, tag] of images) assert.equal(tag, wanted, line);
});

type Map = { [key: string]: YamlValue };

function asMap(value: YamlValue | undefined, what: string): Map {
  assert.ok(value && typeof value === "object" && !Array.isArray(value), `${what}: a mapping`);
  return value as Map;
}

function asList(value: YamlValue | undefined, what: string): YamlValue[] {
  assert.ok(Array.isArray(value), `${what}: a sequence`);
  return value;
}

function steps(job: Map, name: string): Map[] {
  return asList(job.steps, `jobs.${name}.steps`).map((s, i) => asMap(s, `${name} step ${i}`));
}

/** Jobs that `name` waits for, directly or not. */
function upstream(jobs: Map, name: string): Set<string> {
  const seen = new Set<string>();
  const visit = (job: string) => {
    const needs = asMap(jobs[job], `jobs.${job}`).needs;
    const list = needs === undefined ? [] : Array.isArray(needs) ? needs : [needs];
    for (const need of list) {
      if (!seen.has(String(need))) {
        seen.add(String(need));
        visit(String(need));
      }
    }
  };
  visit(name);
  return seen;
}

function jobRunning(jobs: Map, pattern: RegExp): string {
  const found = Object.keys(jobs).filter((name) =>
    steps(asMap(jobs[name], name), name).some((s) => pattern.test(String(s.run ?? "")))
  );
  assert.equal(found.length, 1, `exactly one job should run ${pattern}: ${found}`);
  return found[0];
}

function jobUsing(jobs: Map, action: string): [string, Map] {
  for (const name of Object.keys(jobs)) {
    const step = steps(asMap(jobs[name], name), name).find((s) =>
      String(s.uses ?? "").startsWith(`${action}@`)
    );
    if (step) return [name, step];
  }
  assert.fail(`no job uses ${action}`);
}

test("release.yml: triggers, gate, every target, checksums, release and image", () => {
  const text = readFileSync(join(ROOT, ".github/workflows/release.yml"), "utf8");
  const workflow = asMap(parseYamlSubset(text), "release.yml");
  const bun = (globalThis as { Bun?: { YAML?: { parse(text: string): unknown } } }).Bun;
  if (bun?.YAML) assert.deepEqual(workflow, bun.YAML.parse(text), "Bun's YAML parser differs");

  // Triggers: tags v* only.
  const on = asMap(workflow.on, "on");
  assert.deepEqual(Object.keys(on), ["push"]);
  assert.deepEqual(asMap(on.push, "on.push").tags, ["v*"]);

  const jobs = asMap(workflow.jobs, "jobs");
  for (const name of Object.keys(jobs)) {
    const job = asMap(jobs[name], name);
    assert.equal(typeof job["runs-on"], "string", `${name}: runs-on`);
    assert.equal(typeof job["timeout-minutes"], "number", `${name}: timeout-minutes`);
  }

  // The gate runs after `npm ci`, before anything is built or published.
  const gate = jobRunning(jobs, /^bash scripts\/test$/m);
  const gateSteps = steps(asMap(jobs[gate], gate), gate).map((s) => String(s.run ?? ""));
  const install = gateSteps.findIndex((r) => /^npm ci\b/m.test(r));
  assert.ok(install >= 0 && install < gateSteps.findIndex((r) => /scripts\/test/.test(r)));

  // Every target, built by scripts/build, named electric-<version>-<os>-<arch>[.exe].
  const build = jobRunning(jobs, /scripts\/build /);
  assert.ok(upstream(jobs, build).has(gate), `${build} must need ${gate}`);
  const buildRun = steps(asMap(jobs[build], build), build)
    .map((s) => String(s.run ?? "")).find((r) => /scripts\/build /.test(r))!;
  for (const target of TARGETS) assert.match(buildRun, new RegExp(`\\b${target}\\b`));
  assert.match(buildRun, /npm|node_modules\/\.bin/, "bun comes from node_modules");
  assert.match(buildRun, /"release\/electric-\$\{version\}-\$\{target\}\$\{ext\}"/);
  assert.match(buildRun, /ext="\.exe"/);
  const buildInstall = steps(asMap(jobs[build], build), build)
    .some((s) => /^npm ci\b/m.test(String(s.run ?? "")));
  assert.ok(buildInstall, `${build} installs with npm ci`);

  // Checksums and the release, after the build and the gate.
  const release = jobRunning(jobs, /gh release create/);
  const releaseJob = asMap(jobs[release], release);
  assert.ok(upstream(jobs, release).has(build) && upstream(jobs, release).has(gate));
  assert.equal(asMap(releaseJob.permissions, `${release}.permissions`).contents, "write");
  const releaseRuns = steps(releaseJob, release).map((s) => String(s.run ?? ""));
  const sums = releaseRuns.findIndex((r) => /sha256sum electric-\* > SHA256SUMS/.test(r));
  const create = releaseRuns.findIndex((r) => /gh release create/.test(r));
  assert.ok(sums >= 0 && sums < create, "SHA256SUMS is written before the release is created");
  assert.match(releaseRuns[create], /release\/\*/, "the release carries every asset");

  // The image: buildx, ghcr.io login, both platforms, pushed, after the gate.
  const [imageJob, buildx] = jobUsing(jobs, "docker/setup-buildx-action");
  assert.ok(buildx);
  const [loginJob, login] = jobUsing(jobs, "docker/login-action");
  assert.equal(asMap(login.with, "login.with").registry, "ghcr.io");
  const [pushJob, push] = jobUsing(jobs, "docker/build-push-action");
  assert.equal(imageJob, pushJob);
  assert.equal(loginJob, pushJob);
  assert.ok(upstream(jobs, pushJob).has(gate), `${pushJob} must need ${gate}`);
  const pushWith = asMap(push.with, "build-push.with");
  assert.equal(pushWith.push, true);
  assert.deepEqual(String(pushWith.platforms).split(",").sort(), ["linux/amd64", "linux/arm64"]);
  const image = asMap(jobs[pushJob], pushJob);
  assert.equal(asMap(image.permissions, `${pushJob}.permissions`).packages, "write");

  // Every action pinned by commit, with its version in a comment.
  const uses = [...text.matchAll(/^\s*(?:- )?uses:\s*(\S+)(.*)$/gm)];
  assert.ok(uses.length >= 5);
  for (const [line, ref, rest] of uses) {
    assert.match(ref, /^[\w.-]+\/[\w.-]+@[0-9a-f]{40}$/, `not pinned by commit: ${line.trim()}`);
    assert.match(rest, /#\s*v\d+\.\d+\.\d+\s*$/, `no version comment: ${line.trim()}`);
  }
});

test("scripts/build, the workflow and install.sh agree on the targets", () => {
  const buildScript = readFileSync(join(ROOT, "scripts/build"), "utf8");
  assert.match(buildScript, new RegExp(`^TARGETS="${TARGETS.join(" ")}"$`, "m"));
  const install = readFileSync(join(ROOT, "scripts/install.sh"), "utf8");
  assert.match(install, /asset="electric-\$version-\$target"/);
  assert.match(install, /arch=x64/);
  assert.match(install, /arch=arm64/);
});
