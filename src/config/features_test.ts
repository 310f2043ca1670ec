import { test } from "node:test";
import assert from "node:assert/strict";
import { asFeatures, featureEnabled, KNOWN_FEATURES, parseFeatureList } from "./features.ts";

const resolve = (raw: string) => {
  const parsed = asFeatures(raw);
  assert.ok(parsed.ok, raw);
  return { features: parsed.value };
};

test("all known flags default to false", () => {
  const config = resolve("");
  for (const name of KNOWN_FEATURES) assert.equal(featureEnabled(config, name), false);
  assert.equal(featureEnabled(config, "__default__"), false);
  assert.equal(featureEnabled(config, "something_else"), false);
});

test("listed flags, empty segments ignored, leftmost wins", () => {
  const config = resolve("proxy_ddlx_grant=true::proxy_ddlx_grant=false:proxy_ddlx_revoke=false:");
  assert.equal(featureEnabled(config, "proxy_ddlx_grant"), true);
  assert.equal(featureEnabled(config, "proxy_ddlx_revoke"), false);
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
