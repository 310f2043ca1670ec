import { test } from "node:test";
import assert from "node:assert/strict";
import { hasUpgradeOption, isWebSocketUpgrade } from "./upgrade_request.ts";

const HANDSHAKE = {
  upgrade: "websocket",
  connection: "Upgrade",
  "sec-websocket-version": "13",
  "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
};

function request(headers: Record<string, string | undefined>, method = "GET"): Request {
  const defined = Object.entries({ ...HANDSHAKE, ...headers })
    .filter((entry): entry is [string, string] => entry[1] !== undefined);
  return new Request("http://localhost/ws", { method, headers: defined });
}

test("a handshake needs GET, Upgrade, Connection: Upgrade, version 13 and a 16-byte key", () => {
  assert.equal(isWebSocketUpgrade(request({})), true);
  assert.equal(isWebSocketUpgrade(request({ connection: "keep-alive, upgrade" })), true);
  assert.equal(isWebSocketUpgrade(request({}, "POST")), false);
  assert.equal(isWebSocketUpgrade(request({ upgrade: "h2c" })), false);
  assert.equal(isWebSocketUpgrade(request({ connection: undefined })), false);
  assert.equal(isWebSocketUpgrade(request({ connection: "keep-alive" })), false);
  assert.equal(isWebSocketUpgrade(request({ "sec-websocket-version": "8" })), false);
  assert.equal(isWebSocketUpgrade(request({ "sec-websocket-key": "c2hvcnQ=" })), false);
});

test("the upgrade option is found among others, in any case", () => {
  assert.equal(hasUpgradeOption("Upgrade"), true);
  assert.equal(hasUpgradeOption("keep-alive,  UPGRADE "), true);
  assert.equal(hasUpgradeOption("upgraded"), false);
  assert.equal(hasUpgradeOption(null), false);
});
