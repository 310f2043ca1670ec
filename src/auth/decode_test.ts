import { test } from "node:test";
import assert from "node:assert/strict";
import { decodeLenientBase64, decodeToken } from "./decode.ts";

const text = (bytes: Uint8Array | undefined) =>
  bytes === undefined ? undefined : new TextDecoder().decode(bytes);

test("lenient base64 takes both alphabets, mixed, with or without padding", () => {
  // "???>>>" is "Pz8/Pj4+" in the standard alphabet and "Pz8_Pj4-" in base64url.
  for (const encoded of ["Pz8/Pj4+", "Pz8_Pj4-", "Pz8_Pj4+", "Pz8/Pj4-"]) {
    assert.equal(text(decodeLenientBase64(encoded)), "???>>>");
  }
  assert.equal(text(decodeLenientBase64("YQ")), "a");
  assert.equal(text(decodeLenientBase64("YQ==")), "a");
  assert.equal(text(decodeLenientBase64("")), "");
});

test("lenient base64 still rejects what is not base64", () => {
  for (const bad of ["a", "YQ=a", "Y Q", "YQ===", "*abc", "YWJj\n"]) {
    assert.equal(decodeLenientBase64(bad), undefined, bad);
  }
});

const seg = (value: unknown) =>
  btoa(JSON.stringify(value)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");

test("segment count: three always, two only when allowed", () => {
  const two = `${seg({ alg: "none" })}.${seg({ sub: "a" })}`;
  assert.equal(decodeToken(two, { allowTwoParts: false }).ok, false);
  const decoded = decodeToken(two, { allowTwoParts: true });
  assert.ok(decoded.ok);
  assert.equal(decoded.token.signature, undefined);
  assert.equal(decoded.token.signingInput, two);
  assert.equal(decodeToken(`${two}.sig.extra`, { allowTwoParts: true }).ok, false);
  assert.equal(decodeToken("justone", { allowTwoParts: true }).ok, false);
});

test("header and payload must be JSON objects", () => {
  const header = seg({ alg: "none" });
  for (const payload of [seg([1, 2]), seg(null), seg("s"), seg(3), btoa("{nope"), "", "%%"]) {
    const result = decodeToken(`${header}.${payload}.`, { allowTwoParts: true });
    assert.deepEqual(result, {
      ok: false,
      error: { code: "MALFORMED_TOKEN", message: "Invalid token" },
    });
  }
  // Invalid UTF-8 inside otherwise valid base64.
  const latin1 = btoa(String.fromCharCode(0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d));
  assert.equal(decodeToken(`${header}.${latin1}.`, { allowTwoParts: true }).ok, false);
});
