import { test } from "node:test";
import assert from "node:assert/strict";
import { parseProxyPort } from "./proxy_port.ts";

test("PG_PROXY_PORT forms", () => {
  assert.deepEqual(parseProxyPort(undefined), {
    ok: true,
    value: { port: 65432, httpTunnel: false },
  });
  assert.deepEqual(parseProxyPort("http"), { ok: true, value: { port: 65432, httpTunnel: true } });
  assert.deepEqual(parseProxyPort("HTTP"), { ok: true, value: { port: 65432, httpTunnel: true } });
  assert.deepEqual(parseProxyPort("http:7000"), {
    ok: true,
    value: { port: 7000, httpTunnel: true },
  });
  assert.deepEqual(parseProxyPort("7000"), { ok: true, value: { port: 7000, httpTunnel: false } });
  assert.deepEqual(parseProxyPort("+5"), { ok: true, value: { port: 5, httpTunnel: false } });
  assert.deepEqual(parseProxyPort("99999"), {
    ok: true,
    value: { port: 99999, httpTunnel: false },
  });
});

test("PG_PROXY_PORT failures quote only the offending part", () => {
  const cases: Array<[string, string]> = [
    ["abc", "abc"],
    ["http:abc", "abc"],
    ["", ""],
    ["0", "0"],
    ["-5", "-5"],
    ["70x", "70x"],
    ["http:", ""],
    ["https", "https"],
  ];
  for (const [raw, part] of cases) {
    assert.deepEqual(
      parseProxyPort(raw),
      { ok: false, message: `PG_PROXY_PORT has invalid value: "${part}"` },
      raw,
    );
  }
});
