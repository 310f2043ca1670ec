import { test } from "node:test";
import assert from "node:assert/strict";
import { checkHandshake } from "./handshake.ts";

const upgrade = (protocol?: string) =>
  new Headers({
    upgrade: "websocket",
    connection: "Upgrade",
    "sec-websocket-version": "13",
    "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
    ...(protocol === undefined ? {} : { "sec-websocket-protocol": protocol }),
  });

test("accepts supported electric subprotocols and echoes them", () => {
  assert.deepEqual(checkHandshake("GET", upgrade("electric.0.12")), {
    ok: true,
    protocol: "electric.0.12",
  });
  assert.deepEqual(checkHandshake("GET", upgrade("electric.0.10")), {
    ok: true,
    protocol: "electric.0.10",
  });
});

test("refuses bad upgrades, missing or malformed subprotocols and other versions", () => {
  assert.deepEqual(checkHandshake("POST", upgrade("electric.0.12")), {
    ok: false,
    status: 400,
    body: "Bad request",
  });
  assert.deepEqual(checkHandshake("GET", new Headers()), {
    ok: false,
    status: 400,
    body: "Bad request",
  });
  for (
    const protocol of [
      undefined,
      "electric.0.12, foo",
      "foo",
      "electric.x",
      "electric.0.12.1",
      `electric.${"1".repeat(20)}.0`,
    ]
  ) {
    assert.deepEqual(checkHandshake("GET", upgrade(protocol)), {
      ok: false,
      status: 400,
      body: "Missing satellite websocket subprotocol",
    }, String(protocol));
  }
  assert.deepEqual(checkHandshake("GET", upgrade("electric.0.13")), {
    ok: false,
    status: 400,
    body: "Cannot connect satellite version 0.13.0: this server requires >= 0.10.0 and <= 0.12.1",
  });
  assert.equal(checkHandshake("GET", upgrade("electric.0.9")).ok, false);
});

test("a Sec-WebSocket-Key that is not the base64 of 16 bytes is a bad request", () => {
  for (
    const key of [
      "x",
      "",
      "dGhlIHNhbXBsZSBub25jZQ",
      "dGhlIHNhbXBsZSBub25jZQ=",
      "!GhlIHNhbXBsZSBub25jZQ==",
    ]
  ) {
    const headers = upgrade("electric.0.12");
    headers.set("sec-websocket-key", key);
    assert.deepEqual(checkHandshake("GET", headers), {
      ok: false,
      status: 400,
      body: "Bad request",
    }, key);
  }
});
