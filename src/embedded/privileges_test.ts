import assert from "node:assert/strict";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { grantTreeAccess, parsePasswd, resolveRunAs, wrapCommand } from "./privileges.ts";

const PASSWD = [
  "root:x:0:0:root:/root:/bin/bash",
  "postgres:x:101:104:PostgreSQL administrator,,,:/var/lib/postgresql:/bin/bash",
  "",
].join("\n");

test("parsePasswd finds a user's uid and gid", () => {
  assert.deepEqual(parsePasswd(PASSWD, "postgres"), { name: "postgres", uid: 101, gid: 104 });
  assert.equal(parsePasswd(PASSWD, "nobody"), undefined);
});

const NOBODY = "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n";
const ROOT_ONLY = "root:x:0:0:root:/root:/bin/bash\n";
const setprivOnly = (command: string) => command === "setpriv";

test("resolveRunAs as root prefers the postgres system user", () => {
  const resolved = resolveRunAs({ uid: 0, passwd: PASSWD + NOBODY, hasCommand: setprivOnly });
  assert.ok(resolved.ok);
  assert.deepEqual(resolved.runAs, {
    kind: "user",
    user: { name: "postgres", uid: 101, gid: 104 },
    via: "setpriv",
  });
  assert.deepEqual(resolved.user, {
    name: "postgres",
    reason: "running as root, which PostgreSQL refuses",
  });
});

test("resolveRunAs as root falls back to nobody without a postgres user", () => {
  const resolved = resolveRunAs({
    uid: 0,
    passwd: ROOT_ONLY + NOBODY,
    hasCommand: (command) => command === "runuser",
  });
  assert.ok(resolved.ok);
  assert.deepEqual(resolved.runAs, {
    kind: "user",
    user: { name: "nobody", uid: 65534, gid: 65534 },
    via: "runuser",
  });
  assert.equal(resolved.user.name, "nobody");
  assert.match(resolved.user.reason, /there is no "postgres" system user/);
});

test("resolveRunAs as root runs an existing data dir as its owner (made as nobody before postgres existed)", () => {
  const resolved = resolveRunAs({
    uid: 0,
    passwd: PASSWD + NOBODY,
    dataDirOwner: 65534,
    hasCommand: setprivOnly,
  });
  assert.ok(resolved.ok);
  assert.equal(resolved.user.name, "nobody");
  assert.match(resolved.user.reason, /owns the data directory/);
  const rootOwned = resolveRunAs({
    uid: 0,
    passwd: PASSWD + NOBODY,
    dataDirOwner: 0,
    hasCommand: setprivOnly,
  });
  assert.ok(rootOwned.ok);
  assert.equal(rootOwned.user.name, "postgres", "a root-owned dir is handed over as before");
});

test("resolveRunAs as root with neither postgres nor nobody says what to do", () => {
  const resolved = resolveRunAs({ uid: 0, passwd: ROOT_ONLY, hasCommand: setprivOnly });
  assert.equal(resolved.ok, false);
  if (resolved.ok) return;
  assert.match(resolved.message, /no "postgres" or "nobody" system user/);
  assert.match(resolved.message, /useradd --system postgres/);
});

test("resolveRunAs as root honours a requested user, and reports a missing one", () => {
  const resolved = resolveRunAs({
    uid: 0,
    passwd: PASSWD + NOBODY,
    user: "nobody",
    hasCommand: setprivOnly,
  });
  assert.ok(resolved.ok);
  assert.equal(resolved.runAs.kind === "user" && resolved.runAs.user.uid, 65534);
  const missing = resolveRunAs({ uid: 0, passwd: PASSWD, user: "nobody", hasCommand: setprivOnly });
  assert.equal(missing.ok, false);
  if (!missing.ok) assert.match(missing.message, /no "nobody" system user/);
});

test("resolveRunAs as root needs setpriv or runuser", () => {
  const resolved = resolveRunAs({ uid: 0, passwd: PASSWD, hasCommand: () => false });
  assert.equal(resolved.ok, false);
  if (!resolved.ok) assert.match(resolved.message, /neither `setpriv` nor `runuser`/);
});

test("resolveRunAs runs as ourselves when not root", () => {
  const resolved = resolveRunAs({ uid: 1000, passwd: "", hasCommand: () => false });
  assert.ok(resolved.ok);
  assert.deepEqual(resolved.runAs, { kind: "self" });
  assert.equal(resolved.user.reason, "not running as root");
  assert.ok(resolved.user.name !== "");
});

test("wrapCommand runs directly, via setpriv or via runuser", () => {
  const user = { name: "postgres", uid: 101, gid: 104 };
  assert.deepEqual(wrapCommand({ kind: "self" }, "/bin/initdb", ["-D", "/d"]), [
    "/bin/initdb",
    "-D",
    "/d",
  ]);
  assert.deepEqual(wrapCommand({ kind: "user", user, via: "setpriv" }, "/bin/postgres", ["-D"]), [
    "setpriv",
    "--reuid=101",
    "--regid=104",
    "--init-groups",
    "--",
    "/bin/postgres",
    "-D",
  ]);
  assert.deepEqual(wrapCommand({ kind: "user", user, via: "runuser" }, "/bin/postgres", []), [
    "runuser",
    "-u",
    "postgres",
    "--",
    "/bin/postgres",
  ]);
});

test("grantTreeAccess lets another user read a tree, adding only missing bits", () => {
  const root = mkdtempSync(join(tmpdir(), "electric-grant-test-"));
  try {
    const tree = join(root, "home", "pkg");
    mkdirSync(join(tree, "bin"), { recursive: true });
    writeFileSync(join(tree, "bin", "postgres"), "");
    writeFileSync(join(tree, "data.txt"), "");
    chmodSync(join(tree, "bin", "postgres"), 0o700);
    chmodSync(join(tree, "data.txt"), 0o600);
    chmodSync(join(tree, "bin"), 0o700);
    chmodSync(join(root, "home"), 0o700);
    const mode = (path: string) => statSync(path).mode & 0o777;

    grantTreeAccess(tree, { kind: "self" });
    assert.equal(mode(join(tree, "data.txt")), 0o600, "nothing to do for ourselves");

    const user = { name: "postgres", uid: 101, gid: 104 };
    grantTreeAccess(tree, { kind: "user", user, via: "setpriv" });
    assert.equal(mode(join(root, "home")), 0o711, "ancestors: traversable only");
    assert.equal(mode(join(tree, "bin")), 0o705);
    assert.equal(mode(join(tree, "bin", "postgres")), 0o705);
    assert.equal(mode(join(tree, "data.txt")), 0o604);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
