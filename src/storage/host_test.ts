import { test } from "node:test";
import assert from "node:assert/strict";
import { resolveDatabaseHost } from "./host.ts";

test("IP literals are used as they are", async () => {
  assert.deepEqual(await resolveDatabaseHost("127.0.0.1", false), {
    ok: true,
    address: "127.0.0.1",
    family: 4,
  });
  assert.deepEqual(await resolveDatabaseHost("::1", false), {
    ok: true,
    address: "::1",
    family: 6,
  });
});

test("localhost resolves to IPv4 unless IPv6 is asked for", async () => {
  const v4 = await resolveDatabaseHost("localhost", false);
  assert.ok(v4.ok && v4.family === 4);
});

test("an unresolvable host is an error with a hint", async () => {
  const result = await resolveDatabaseHost("no-such-host.invalid", false);
  assert.equal(result.ok, false);
  if (!result.ok) {
    assert.equal(result.error.code, "HOST_NOT_RESOLVED");
    assert.match(result.error.hint, /DATABASE_USE_IPV6=true/);
  }
});
