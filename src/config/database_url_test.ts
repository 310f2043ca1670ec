import { test } from "node:test";
import assert from "node:assert/strict";
import { asDatabaseUrl, parseDatabaseUrl, resolveRequireSsl } from "./database_url.ts";
import { sanitizeDatabaseUrl } from "./mod.ts";

const parsed = (raw: string) => {
  const result = parseDatabaseUrl(raw);
  assert.ok(result.ok, raw);
  return result.value;
};
const error = (raw: string) => {
  const result = parseDatabaseUrl(raw);
  assert.equal(result.ok, false, raw);
  return result.ok ? "" : result.message;
};

test("full URL with defaults and percent-decoding", () => {
  assert.deepEqual(parsed("postgresql://us%40er:p%3Ass@db.example:6543/my%20db"), {
    host: "db.example",
    port: 6543,
    user: "us@er",
    password: "p:ss",
    database: "my db",
    connectTimeoutMs: 5000,
  });
  const short = parsed("postgres://electric@localhost");
  assert.equal(short.port, 5432);
  assert.equal(short.password, "");
  assert.equal(short.database, "electric");
  assert.equal(parsed("postgresql://a%20b:x@h/").database, "a b");
  assert.equal(parsed("POSTGRES://u:p@h/d").host, "h");
  assert.equal(parsed("postgresql://u:p@pass@h/d").password, "p@pass");
});

test("IPv6 bracket hosts", () => {
  const url = parsed("postgresql://pg@[2001:db8::1234]:4321");
  assert.equal(url.host, "2001:db8::1234");
  assert.equal(url.port, 4321);
  assert.equal(url.database, "pg");
});

test("scheme, host and username errors, in order", () => {
  assert.equal(error("postgrex://localhost"), 'DATABASE_URL has invalid URL scheme: "postgrex"');
  assert.equal(error("localhost"), "DATABASE_URL has invalid URL scheme: nil");
  assert.equal(error("postgresql:///db"), "DATABASE_URL missing host");
  assert.equal(error("postgresql://u:p@/db"), "DATABASE_URL missing host");
  assert.equal(error("postgresql://localhost"), "DATABASE_URL has invalid or missing username");
  assert.equal(error("postgresql://:pw@localhost"), "DATABASE_URL has invalid or missing username");
  assert.equal(
    error("postgresql://u:p:w@localhost"),
    "DATABASE_URL has invalid or missing username",
  );
  assert.match(error("postgresql://u@localhost:abc/db"), /^DATABASE_URL has invalid port/);
});

test("blank DATABASE_URL is not set", () => {
  for (const raw of [undefined, "", "   "]) {
    assert.deepEqual(asDatabaseUrl(raw), { ok: false, message: "DATABASE_URL not set" });
  }
});

test("query options", () => {
  const base = "postgresql://u:p@h/d";
  for (const mode of ["disable", "allow", "prefer", "require"]) {
    assert.equal(parsed(`${base}?sslmode=${mode}`).sslMode, mode);
  }
  assert.equal(parsed(`${base}?sslmode=disable&foo=1`).sslMode, "disable");
  assert.equal(parsed(`${base}?sslmode=require&sslmode=prefer`).sslMode, "prefer");
  assert.equal(parsed(`${base}?`).sslMode, undefined);
  assert.equal(
    error(`${base}?sslmode=verify-full`),
    'DATABASE_URL has unsupported "sslmode" value "verify-full". Consider using the DATABASE_REQUIRE_SSL configuration option',
  );
  assert.match(error(`${base}?sslmode=verify-ca`), /unsupported "sslmode" value "verify-ca"/);
  assert.equal(error(`${base}?sslmode=bogus`), 'DATABASE_URL has invalid "sslmode" value: "bogus"');
  assert.equal(
    error(`${base}?replication=database&x=1`),
    'DATABASE_URL has unsupported "replication" query option. Electric opens both a replication connection and regular connections to Postgres as needed',
  );
  assert.equal(
    error(`${base}?opts=x&foo=bar`),
    'DATABASE_URL has unsupported query options: "foo", "opts"',
  );
});

test("SSL decision table (doc 1.3.2)", () => {
  assert.equal(resolveRequireSsl(undefined, undefined), true);
  assert.equal(resolveRequireSsl(undefined, "require"), true);
  for (const mode of ["disable", "allow", "prefer"] as const) {
    assert.equal(resolveRequireSsl(undefined, mode), false);
    assert.equal(resolveRequireSsl(true, mode), true);
  }
  assert.equal(resolveRequireSsl(false, undefined), false);
  assert.equal(resolveRequireSsl(false, "require"), false);
});

test("sanitized URL masks the password", () => {
  const config = {
    ...parsed("postgresql://electric:topsecret@db:5432/app"),
    requireSsl: true,
    useIpv6: false,
  };
  assert.equal(sanitizeDatabaseUrl(config), "postgresql://electric:****@db:5432/app");
  const v6 = { ...config, host: "::1" };
  assert.equal(sanitizeDatabaseUrl(v6), "postgresql://electric:****@[::1]:5432/app");
});
