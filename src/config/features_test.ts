import { test } from "node:test";
import assert from "node:assert/strict";
import { asFeatures, featureEnabled, KNOWN_FEATURES, parseFeatureList } from "./features.ts";

const resolve = (raw: string) => {
  const parsed = asFeatures(raw);
  assert.ok(parsed.ok, raw);
  return { features: parsed.value };
};

test("the DDLX permission flags default to true; __default__ and other names to false", () => {
  const config = resolve("");
  assert.deepEqual(KNOWN_FEATURES, [
    "proxy_ddlx_grant",
    "proxy_ddlx_revoke",
    "proxy_ddlx_assign",
    "proxy_ddlx_unassign",
  ]);
  for (const name of KNOWN_FEATURES) assert.equal(featureEnabled(config, name), true, name);
  assert.equal(featureEnabled(config, "__default__"), false);
  assert.equal(featureEnabled(config, "something_else"), false);
});

test("an explicit flag wins, then an explicit __default__, then the built-in default", () => {
  const off = resolve("proxy_ddlx_grant=false");
  assert.equal(featureEnabled(off, "proxy_ddlx_grant"), false);
  assert.equal(featureEnabled(off, "proxy_ddlx_revoke"), true);
  const allOff = resolve("proxy_ddlx_assign=true:__default__=false");
  assert.equal(featureEnabled(allOff, "proxy_ddlx_grant"), false);
  assert.equal(featureEnabled(allOff, "proxy_ddlx_unassign"), false);
  assert.equal(featureEnabled(allOff, "proxy_ddlx_assign"), true);
  assert.equal(featureEnabled(allOff, "__default__"), false);
});

test("listed flags, empty segments ignored, leftmost wins", () => {
  const config = resolve("proxy_ddlx_grant=false::proxy_ddlx_grant=true:proxy_ddlx_revoke=false:");
  assert.equal(featureEnabled(config, "proxy_ddlx_grant"), false);
  assert.equal(featureEnabled(config, "proxy_ddlx_revoke"), false);
  assert.equal(featureEnabled(config, "proxy_ddlx_assign"), true);
});

test("__default__ covers unlisted flags and unknown names", () => {
  const config = resolve("proxy_ddlx_assign=false:__default__=true");
  assert.equal(featureEnabled(config, "proxy_ddlx_grant"), true);
  assert.equal(featureEnabled(config, "proxy_ddlx_assign"), false);
  assert.equal(featureEnabled(config, "electric_disable"), true);
  assert.equal(config.features.proxy_ddlx_unassign, true);
});

test("bad segments fail naming ELECTRIC_FEATURES", () => {
  for (const raw of ["proxy_ddlx_grant", "proxy_ddlx_grant=yes", "a=TRUE", "=true", "a=true:b"]) {
    const parsed = parseFeatureList(raw);
    assert.equal(parsed.ok, false, raw);
    if (!parsed.ok) assert.match(parsed.message, /^ELECTRIC_FEATURES /);
  }
});
