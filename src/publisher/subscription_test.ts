import { test } from "node:test";
import assert from "node:assert/strict";
import { conninfoPassword, subscriptionConninfo } from "./subscription.ts";

test("the subscription's connection string, as the reference builds it", () => {
  assert.equal(
    subscriptionConninfo({ host: "electric", port: 5433 }),
    "host=electric port=5433 dbname=electric connect_timeout=5000",
  );
  assert.equal(
    subscriptionConninfo({ host: "::1", port: 65432 }),
    "host=::1 port=65432 dbname=electric connect_timeout=5000",
  );
  // Not expected in practice, but must not break the keyword/value syntax.
  assert.equal(
    subscriptionConninfo({ host: "a b'c", port: 1 }),
    "host='a b\\'c' port=1 dbname=electric connect_timeout=5000",
  );
});

test("the secret is written into the connection string and read back from it", () => {
  for (const secret of ["abc_DEF-123", "with space", "qu'ote\\slash"]) {
    const conninfo = subscriptionConninfo({ host: "electric", port: 5433 }, secret);
    assert.equal(conninfoPassword(conninfo), secret, conninfo);
  }
  assert.equal(conninfoPassword(subscriptionConninfo({ host: "h", port: 1 })), undefined);
});
