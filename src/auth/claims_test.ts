import { test } from "node:test";
import assert from "node:assert/strict";
import { checkClaims, type ClaimRules, literal, userIdFrom } from "./claims.ts";

const NOW = 1_717_243_320;
const secure: ClaimRules = {
  nowSeconds: NOW,
  toleranceSeconds: 2,
  required: ["exp", "iat", "iss", "aud"],
  issuer: "me",
  audience: "app",
};
const insecure: ClaimRules = { nowSeconds: NOW, toleranceSeconds: 2, required: [] };
const good = { iat: NOW, exp: NOW + 60, iss: "me", aud: "app" };

const reason = (payload: Record<string, unknown>, rules: ClaimRules) => {
  const result = checkClaims(payload, rules);
  return result.ok ? "ok" : `${result.error.code}: ${result.error.message}`;
};

test("time claims use a 2 s drift on whole seconds", () => {
  assert.equal(reason({ ...good, exp: NOW - 2 }, secure), "ok");
  assert.equal(reason({ ...good, exp: NOW - 3 }, secure), "EXPIRED: Expired token");
  assert.equal(reason({ ...good, iat: NOW + 2 }, secure), "ok");
  assert.equal(
    reason({ ...good, iat: NOW + 3 }, secure),
    `INVALID_CLAIM: Invalid "iat" claim value: ${NOW + 3}`,
  );
  assert.equal(reason({ ...good, nbf: NOW + 2 }, secure), "ok");
  assert.equal(reason({ ...good, nbf: NOW + 3 }, secure), "NOT_YET_VALID: Token is not yet valid");
});

test("present claims are checked in name order before missing ones", () => {
  // aud < exp < iat < iss < nbf
  const allBad = { aud: "other", exp: NOW - 10, iat: NOW + 10, iss: "x", nbf: NOW + 10 };
  assert.equal(reason(allBad, secure), `INVALID_CLAIM: Invalid "aud" claim value: "other"`);
  const { aud: _aud, ...noAud } = allBad;
  assert.equal(reason(noAud, secure), "EXPIRED: Expired token");
  const { exp: _exp, ...noAudExp } = noAud;
  assert.equal(reason(noAudExp, secure), `INVALID_CLAIM: Invalid "iat" claim value: ${NOW + 10}`);
  assert.equal(reason({ nbf: NOW + 10 }, secure), "NOT_YET_VALID: Token is not yet valid");
  // An expired token missing `iat` reports the expiry, not the missing claim.
  assert.equal(reason({ exp: NOW - 10 }, secure), "EXPIRED: Expired token");
});

test("the alphabetically first missing required claim is reported", () => {
  assert.equal(reason({}, secure), `MISSING_CLAIM: Missing required "aud" claim`);
  assert.equal(reason({ aud: "app" }, secure), `MISSING_CLAIM: Missing required "exp" claim`);
  assert.equal(
    reason({ aud: "app", exp: NOW }, secure),
    `MISSING_CLAIM: Missing required "iat" claim`,
  );
  assert.equal(
    reason({ aud: "app", exp: NOW, iat: NOW }, secure),
    `MISSING_CLAIM: Missing required "iss" claim`,
  );
});

test("iss and aud compare exactly; an aud array never matches", () => {
  assert.equal(
    reason({ ...good, iss: "Me" }, secure),
    `INVALID_CLAIM: Invalid "iss" claim value: "Me"`,
  );
  assert.equal(
    reason({ ...good, aud: ["app"] }, secure),
    `INVALID_CLAIM: Invalid "aud" claim value: ["app"]`,
  );
  // Not configured: not compared, not required.
  const bare: ClaimRules = { ...insecure, required: ["exp", "iat"] };
  assert.equal(reason({ iat: NOW, exp: NOW, iss: "any", aud: ["x"] }, bare), "ok");
});

test("insecure rules require nothing but still check present time claims", () => {
  assert.equal(reason({}, insecure), "ok");
  assert.equal(reason({ iss: "x", aud: "y" }, insecure), "ok");
  assert.equal(reason({ exp: NOW - 3 }, insecure), "EXPIRED: Expired token");
});

test("non-numeric time claims are invalid values, not crashes", () => {
  assert.equal(
    reason({ ...good, exp: "soon" }, secure),
    `INVALID_CLAIM: Invalid "exp" claim value: "soon"`,
  );
  assert.equal(
    reason({ ...good, iat: null }, secure),
    `INVALID_CLAIM: Invalid "iat" claim value: null`,
  );
  assert.equal(reason({ nbf: true }, insecure), `INVALID_CLAIM: Invalid "nbf" claim value: true`);
});

test("long claim values are shortened in messages", () => {
  const shown = literal("x".repeat(500));
  assert.ok(shown.length <= 81);
  assert.ok(shown.endsWith("…"));
});

const user = (payload: Record<string, unknown>, namespace?: string) => {
  const result = userIdFrom(payload, namespace);
  return result.ok ? result.userId : `${result.error.code}: ${result.error.message}`;
};
const MISSING = "MISSING_USER_ID: Missing or invalid 'user_id'";

test("user id: sub, then legacy user_id when sub is absent, null or false", () => {
  assert.equal(user({ sub: "alice", user_id: "bob" }), "alice");
  assert.equal(user({ user_id: "bob" }), "bob");
  assert.equal(user({ sub: null, user_id: "bob" }), "bob");
  assert.equal(user({ sub: false, user_id: "bob" }), "bob");
  assert.equal(user({ sub: 42, user_id: "bob" }), MISSING);
  assert.equal(user({ sub: "", user_id: "bob" }), MISSING);
  assert.equal(user({ sub: "  \t" }), MISSING);
  assert.equal(user({}), MISSING);
  assert.equal(user({ sub: " alice " }), " alice ");
});

test("user id with a namespace is looked up only inside it", () => {
  const ns = "https://x/claims";
  assert.equal(user({ sub: "alice" }, ns), MISSING);
  assert.equal(user({ [ns]: { sub: "alice" } }, ns), "alice");
  assert.equal(user({ sub: "top", [ns]: { user_id: "bob" } }, ns), "bob");
  assert.equal(user({ [ns]: {}, sub: "top" }, ns), MISSING);
  assert.equal(user({ [ns]: null }, ns), MISSING);
  assert.equal(user({ [ns]: "alice" }, ns), `INVALID_CLAIM: Invalid "${ns}" claim value: "alice"`);
  assert.equal(
    user({ [ns]: ["alice"] }, ns),
    `INVALID_CLAIM: Invalid "${ns}" claim value: ["alice"]`,
  );
  // An empty namespace counts as unset.
  assert.equal(user({ sub: "alice" }, ""), "alice");
});
