import { test } from "node:test";
import assert from "node:assert/strict";
import { classifyPgError, connectionLost } from "./pg_errors.ts";

const err = (code: string, message = "boom") => Object.assign(new Error(message), { code });

test("socket and SQLSTATE codes map to failures with hints", () => {
  assert.equal(classifyPgError(err("ECONNREFUSED")).code, "CONNECTION_REFUSED");
  assert.equal(classifyPgError(err("28P01")).code, "AUTHENTICATION_FAILED");
  assert.equal(classifyPgError(err("3D000")).code, "DATABASE_NOT_FOUND");
  assert.equal(classifyPgError(err("57P01")).code, "SERVER_SHUTTING_DOWN");
  assert.equal(classifyPgError(err("XX000")).code, "UNKNOWN");
  assert.equal(classifyPgError("not an error").code, "UNKNOWN");
});

test("a reset during a required SSL handshake points at the SSL settings", () => {
  const failure = classifyPgError(err("ECONNRESET"), { requireSsl: true });
  assert.equal(failure.code, "SSL_HANDSHAKE_FAILED");
  assert.match(failure.hint ?? "", /DATABASE_REQUIRE_SSL=false/);
  assert.equal(classifyPgError(err("ECONNRESET")).code, "CONNECTION_REFUSED");
});

test("matching never depends on message text", () => {
  assert.equal(classifyPgError(err("", "password authentication failed")).code, "UNKNOWN");
});

test("a lost connection is told by its code: socket, postgres.js, 08 and 57P", () => {
  for (const code of ["ECONNRESET", "EPIPE", "CONNECTION_CLOSED", "08006", "57P01", "57P03"]) {
    assert.equal(connectionLost(err(code)), true, code);
  }
  for (const code of ["23505", "40001", "42P01", "P0001", "XX000", ""]) {
    assert.equal(connectionLost(err(code)), false, code);
  }
  assert.equal(connectionLost(new Error("not from the connection")), false);
  assert.equal(connectionLost(undefined), false);
});
