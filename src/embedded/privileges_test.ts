import assert from "node:assert/strict";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { grantTreeAccess, parsePasswd, wrapCommand } from "./privileges.ts";

const PASSWD = [
  "root:x:0:0:root:/root:/bin/bash",
  "postgres:x:101:104:PostgreSQL administrator,,,:/var/lib/postgresql:/bin/bash",
  "",
].join("\n");

test("parsePasswd finds a user's uid and gid", () => {
  assert.deepEqual(parsePasswd(PASSWD, "postgres"), { name: "postgres", uid: 101, gid: 104 });
  assert.equal(parsePasswd(PASSWD, "nobody"), undefined);
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
