import assert from "node:assert/strict";
import { test } from "node:test";
import { postgresArgs } from "./server.ts";

function settings(args: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < args.length; i++) {
    if (args[i] !== "-c") continue;
    const [name, ...rest] = args[i + 1].split("=");
    out[name] = rest.join("=");
  }
  return out;
}

test("postgresArgs binds loopback with replication headroom and extra settings last", () => {
  const args = postgresArgs("/tmp/d", {
    port: 5555,
    walLevel: "logical",
    extraSettings: { fsync: "off", max_wal_senders: "5" },
  });
  assert.deepEqual(args.slice(0, 4), ["-D", "/tmp/d", "-p", "5555"]);
  assert.deepEqual(settings(args), {
    listen_addresses: "127.0.0.1",
    wal_level: "logical",
    max_wal_senders: "5",
    max_replication_slots: "20",
    unix_socket_directories: "/tmp/d",
    fsync: "off",
  });
});

test("postgresArgs drops the unix socket when its path would be too long", () => {
  const deep = `/tmp/${"x".repeat(120)}`;
  const args = postgresArgs(deep, { port: 5555, walLevel: "replica" });
  assert.equal(settings(args).unix_socket_directories, "");
});
