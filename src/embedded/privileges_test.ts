import assert from "node:assert/strict";
import { test } from "node:test";
import { parsePasswd, wrapCommand } from "./privileges.ts";

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
