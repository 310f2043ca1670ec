import assert from "node:assert/strict";
import { test } from "node:test";
import { isPidAlive, isZombieStat, parsePostmasterPid } from "./postmaster_pid.ts";

const READY = [
  "2931",
  "/tmp/pg/data",
  "1795767600",
  "55432",
  "/tmp/pg",
  "127.0.0.1",
  "  1234567     32768",
  "ready   ",
  "",
].join("\n");

test("parsePostmasterPid reads pid, data dir, port and status", () => {
  assert.deepEqual(parsePostmasterPid(READY), {
    pid: 2931,
    dataDir: "/tmp/pg/data",
    port: 55432,
    status: "ready",
  });
});

test("parsePostmasterPid tolerates a file written before the status line", () => {
  const early = READY.split("\n").slice(0, 4).join("\n");
  assert.equal(parsePostmasterPid(early)?.status, "");
});

test("parsePostmasterPid rejects truncated or garbled files", () => {
  assert.equal(parsePostmasterPid(""), undefined);
  assert.equal(parsePostmasterPid("2931\n/tmp/pg/data\n"), undefined);
  assert.equal(parsePostmasterPid("abc\n/d\n1\n5432\n"), undefined);
  assert.equal(parsePostmasterPid("-5\n/d\n1\n5432\n"), undefined);
});

test("isPidAlive sees this process and not an unused pid", () => {
  assert.equal(isPidAlive(process.pid), true);
  assert.equal(isPidAlive(2 ** 22 + 1), false); // above Linux's pid_max ceiling
});

test("isZombieStat reads the state after the command name", () => {
  assert.equal(isZombieStat("23125 (postgres) Z 1 23125 23125 0 -1"), true);
  assert.equal(isZombieStat("23125 (postgres) S 1 23125 23125 0 -1"), false);
  assert.equal(isZombieStat("7 (a) Z (b)) S 1 7 7 0 -1"), false, "parentheses in the name");
});
