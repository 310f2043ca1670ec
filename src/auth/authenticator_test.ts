import { test } from "node:test";
import assert from "node:assert/strict";
import { exportSPKI, generateKeyPair, type JWTPayload, SignJWT } from "jose";
import { type AuthConfig, JWT_ALGS, type JwtAlg } from "../config/mod.ts";
import { type AuthResult, createAuthenticator } from "./mod.ts";

const NOW = new Date("2024-06-01T12:00:00.000Z");
const NOW_S = NOW.getTime() / 1000;
const now = () => NOW;

const HS_SECRET = new TextEncoder().encode("s".repeat(64));
const OTHER_SECRET = new TextEncoder().encode("o".repeat(64));

type SigningKey = CryptoKey | Uint8Array;
interface KeySet {
  sign: SigningKey;
  verify: Uint8Array | string;
}
const keySets: Record<string, Promise<KeySet>> = {};
const keysFor = (alg: JwtAlg, slot = "a"): Promise<KeySet> => {
  if (alg.startsWith("HS")) {
    const secret = slot === "a" ? HS_SECRET : OTHER_SECRET;
    return Promise.resolve({ sign: secret, verify: secret });
  }
  return keySets[`${alg}/${slot}`] ??= generateKeyPair(alg, { extractable: true }).then(
    async ({ privateKey, publicKey }) => ({
      sign: privateKey,
      verify: await exportSPKI(publicKey),
    }),
  );
};

const sign = (claims: JWTPayload, alg: string, key: SigningKey) =>
  new SignJWT(claims).setProtectedHeader({ alg }).sign(key);

const base = (): JWTPayload => ({ sub: "alice", iat: NOW_S - 10, exp: NOW_S + 3600 });

const secureConfig = (alg: JwtAlg, key: Uint8Array | string, extra = {}): AuthConfig => ({
  mode: "secure",
  alg,
  key,
  ...extra,
});

const failure = (result: AuthResult) =>
  result.ok ? "ok" : `${result.error.code}: ${result.error.message}`;

for (const alg of JWT_ALGS) {
  test(`secure ${alg}: right key accepted, other key rejected`, async () => {
    const { sign: signKey, verify } = await keysFor(alg);
    const auth = createAuthenticator(secureConfig(alg, verify), { now });
    const token = await sign(base(), alg, signKey);
    const result = await auth.verify(token);
    assert.ok(result.ok, failure(result));
    assert.equal(result.userId, "alice");
    assert.deepEqual(result.expiresAt, new Date((NOW_S + 3600) * 1000));
    assert.equal(result.claims.sub, "alice");
    // Verifying again goes through the cached key.
    assert.ok((await auth.verify(token)).ok);

    const other = await keysFor(alg, "b");
    const forged = await sign(base(), alg, other.sign);
    assert.equal(failure(await auth.verify(forged)), "INVALID_SIGNATURE: Invalid token signature");
  });
}

test("secure: a tampered payload fails the signature", async () => {
  const auth = createAuthenticator(secureConfig("HS256", HS_SECRET), { now });
  const [h, , s] = (await sign(base(), "HS256", HS_SECRET)).split(".");
  const p = (await sign({ ...base(), sub: "mallory" }, "HS256", HS_SECRET)).split(".")[1];
  assert.equal(
    failure(await auth.verify(`${h}.${p}.${s}`)),
    "INVALID_SIGNATURE: Invalid token signature",
  );
  assert.equal(
    failure(await auth.verify(`${h}.${p}.`)),
    "INVALID_SIGNATURE: Invalid token signature",
  );
});

test("secure: header alg must be the configured one", async () => {
  const auth = createAuthenticator(secureConfig("HS256", HS_SECRET), { now });
  const hs512 = await sign(base(), "HS512", HS_SECRET);
  assert.equal(failure(await auth.verify(hs512)), "ALGORITHM_MISMATCH: Signing algorithm mismatch");

  const es = await keysFor("ES256");
  const esAuth = createAuthenticator(secureConfig("ES256", es.verify), { now });
  const rs = await keysFor("RS256");
  const rsToken = await sign(base(), "RS256", rs.sign);
  assert.equal(
    failure(await esAuth.verify(rsToken)),
    "ALGORITHM_MISMATCH: Signing algorithm mismatch",
  );
});

test("secure: alg none and missing alg are mismatches, two parts is malformed", async () => {
  const auth = createAuthenticator(secureConfig("HS256", HS_SECRET), { now });
  const unsigned = clientInsecureToken(base());
  assert.equal(
    failure(await auth.verify(unsigned)),
    "ALGORITHM_MISMATCH: Signing algorithm mismatch",
  );
  const noAlg = `${encodeLikeClient({ typ: "JWT" })}.${encodeLikeClient(base())}.`;
  assert.equal(failure(await auth.verify(noAlg)), "ALGORITHM_MISMATCH: Signing algorithm mismatch");
  assert.equal(failure(await auth.verify(unsigned.slice(0, -1))), "MALFORMED_TOKEN: Invalid token");
});

test("secure: exp 3 s in the past rejected, 1 s in the past accepted; iat 1 s ahead accepted", async () => {
  const auth = createAuthenticator(secureConfig("HS256", HS_SECRET), { now });
  const at = (claims: JWTPayload) => sign({ ...base(), ...claims }, "HS256", HS_SECRET);
  assert.equal(failure(await auth.verify(await at({ exp: NOW_S - 3 }))), "EXPIRED: Expired token");
  assert.equal(failure(await auth.verify(await at({ exp: NOW_S - 1 }))), "ok");
  assert.equal(failure(await auth.verify(await at({ iat: NOW_S + 1 }))), "ok");
  assert.equal(
    failure(await auth.verify(await at({ nbf: NOW_S + 30 }))),
    "NOT_YET_VALID: Token is not yet valid",
  );
});

test("secure: the default clock is the real one, tolerance configurable", async () => {
  const realNow = Math.floor(Date.now() / 1000);
  const token = await sign({ sub: "a", iat: realNow, exp: realNow - 1 }, "HS256", HS_SECRET);
  assert.ok((await createAuthenticator(secureConfig("HS256", HS_SECRET)).verify(token)).ok);
  const strict = createAuthenticator(secureConfig("HS256", HS_SECRET), {
    clockToleranceSeconds: 0,
  });
  assert.equal(failure(await strict.verify(token)), "EXPIRED: Expired token");
});

test("secure: iat and exp are required", async () => {
  const auth = createAuthenticator(secureConfig("HS256", HS_SECRET), { now });
  const noIat = await sign({ sub: "alice", exp: NOW_S + 60 }, "HS256", HS_SECRET);
  assert.equal(failure(await auth.verify(noIat)), `MISSING_CLAIM: Missing required "iat" claim`);
  const noExp = await sign({ sub: "alice", iat: NOW_S }, "HS256", HS_SECRET);
  assert.equal(failure(await auth.verify(noExp)), `MISSING_CLAIM: Missing required "exp" claim`);
});

test("secure: aud and iss compared and required when configured", async () => {
  const auth = createAuthenticator(
    secureConfig("HS256", HS_SECRET, { audience: "app", issuer: "issuer" }),
    { now },
  );
  const at = (claims: JWTPayload) => sign({ ...base(), ...claims }, "HS256", HS_SECRET);
  assert.ok((await auth.verify(await at({ aud: "app", iss: "issuer" }))).ok);
  assert.equal(
    failure(await auth.verify(await at({ aud: "other", iss: "issuer" }))),
    `INVALID_CLAIM: Invalid "aud" claim value: "other"`,
  );
  assert.equal(
    failure(await auth.verify(await at({ iss: "issuer" }))),
    `MISSING_CLAIM: Missing required "aud" claim`,
  );
  assert.equal(
    failure(await auth.verify(await at({ aud: "app", iss: "someone" }))),
    `INVALID_CLAIM: Invalid "iss" claim value: "someone"`,
  );
  assert.equal(
    failure(await auth.verify(await at({ aud: "app" }))),
    `MISSING_CLAIM: Missing required "iss" claim`,
  );
  // Not configured: ignored.
  const plain = createAuthenticator(secureConfig("HS256", HS_SECRET), { now });
  assert.ok((await plain.verify(await at({ aud: "other", iss: "someone" }))).ok);
});

test("secure: namespace and legacy user_id", async () => {
  const ns = "https://x/claims";
  const auth = createAuthenticator(secureConfig("HS256", HS_SECRET, { namespace: ns }), { now });
  const at = (claims: JWTPayload) => sign({ ...base(), ...claims }, "HS256", HS_SECRET);
  assert.equal(
    failure(await auth.verify(await at({}))),
    "MISSING_USER_ID: Missing or invalid 'user_id'",
  );
  const nested = await auth.verify(await at({ sub: undefined, [ns]: { sub: "bob" } }));
  assert.ok(nested.ok && nested.userId === "bob");
  const legacy = await auth.verify(await at({ [ns]: { user_id: "carol" } }));
  assert.ok(legacy.ok && legacy.userId === "carol");

  const plain = createAuthenticator(secureConfig("HS256", HS_SECRET), { now });
  const topLegacy = await plain.verify(await at({ sub: undefined, user_id: "dave" }));
  assert.ok(topLegacy.ok && topLegacy.userId === "dave");
  assert.equal(
    failure(await plain.verify(await at({ sub: "  " }))),
    "MISSING_USER_ID: Missing or invalid 'user_id'",
  );
});

// The 0.12.1 client builds unsigned tokens itself: standard base64 of the JSON, `+` -> `-`,
// only the first `/` -> `_`, padding dropped, and a trailing dot.
function encodeLikeClient(value: unknown): string {
  return btoa(JSON.stringify(value)).replace(/\+/g, "-").replace("/", "_").replace(/=+$/, "");
}
function clientInsecureToken(claims: Record<string, unknown>): string {
  return `${encodeLikeClient({ alg: "none" })}.${encodeLikeClient(claims)}.`;
}

test("insecure: the client's unsigned token is accepted, slashes and all", async () => {
  const auth = createAuthenticator({ mode: "insecure" }, { now });
  // "???" encodes as "Pz8/"; repeated, it leaves `/` after the first one is replaced.
  const token = clientInsecureToken({ sub: "user???", note: "???????" });
  assert.match(token.split(".")[1], /_.*\//);
  const result = await auth.verify(token);
  assert.ok(result.ok, failure(result));
  assert.equal(result.userId, "user???");
  assert.equal(result.expiresAt, undefined);
});

test("insecure: signatures, algs and two-part tokens are all ignored", async () => {
  const auth = createAuthenticator({ mode: "insecure" }, { now });
  const signed = await sign(base(), "HS256", OTHER_SECRET);
  const ok = await auth.verify(signed);
  assert.ok(ok.ok && ok.userId === "alice");
  assert.deepEqual(ok.expiresAt, new Date((NOW_S + 3600) * 1000));
  const [h, p] = signed.split(".");
  assert.ok((await auth.verify(`${h}.${p}`)).ok);
  assert.ok((await auth.verify(`${h}.${p}.garbage!!`)).ok);
  assert.ok((await auth.verify(`${encodeLikeClient({})}.${p}.`)).ok);
});

test("insecure: present time claims still checked, nothing else required", async () => {
  const auth = createAuthenticator({ mode: "insecure" }, { now });
  assert.equal(
    failure(await auth.verify(clientInsecureToken({ sub: "a", exp: NOW_S - 3 }))),
    "EXPIRED: Expired token",
  );
  assert.equal(
    failure(await auth.verify(clientInsecureToken({ sub: "a", iat: NOW_S + 10 }))),
    `INVALID_CLAIM: Invalid "iat" claim value: ${NOW_S + 10}`,
  );
  assert.ok((await auth.verify(clientInsecureToken({ sub: "a", aud: "x", iss: "y" }))).ok);
  assert.equal(
    failure(await auth.verify(clientInsecureToken({ sub: "  " }))),
    "MISSING_USER_ID: Missing or invalid 'user_id'",
  );
});

test("insecure: namespace variants", async () => {
  const ns = "https://x/claims";
  const auth = createAuthenticator({ mode: "insecure", namespace: ns }, { now });
  assert.equal(
    failure(await auth.verify(clientInsecureToken({ sub: "a" }))),
    "MISSING_USER_ID: Missing or invalid 'user_id'",
  );
  const inside = await auth.verify(clientInsecureToken({ [ns]: { sub: "a" } }));
  assert.ok(inside.ok && inside.userId === "a");
});

test("malformed tokens are values, never exceptions, and never echo the token", async () => {
  const secure = createAuthenticator(secureConfig("HS256", HS_SECRET), { now });
  const insecure = createAuthenticator({ mode: "insecure" }, { now });
  const badJson = `${encodeLikeClient({ alg: "HS256" })}.${btoa("{not json")}.sig`;
  const cases = ["", "garbage", "a.b", "a.b.c.d", badJson, "....", "%%%.%%%.%%%"];
  for (const auth of [secure, insecure]) {
    for (const token of cases) {
      const result = await auth.verify(token);
      assert.equal(failure(result), "MALFORMED_TOKEN: Invalid token", token);
    }
    // Not even a string (a caller bug) is reported, not thrown.
    assert.equal(
      failure(await auth.verify(undefined as unknown as string)),
      "MALFORMED_TOKEN: Invalid token",
    );
  }
  const secret = "TOPSECRETVALUE";
  const withSecret = await sign({ ...base(), sub: undefined, hint: secret }, "HS256", HS_SECRET);
  const result = await secure.verify(withSecret);
  assert.ok(!result.ok && !result.error.message.includes(secret));
});

test("secure: a bad signature segment is malformed", async () => {
  const auth = createAuthenticator(secureConfig("HS256", HS_SECRET), { now });
  const [h, p] = (await sign(base(), "HS256", HS_SECRET)).split(".");
  assert.equal(
    failure(await auth.verify(`${h}.${p}.not*base64`)),
    "MALFORMED_TOKEN: Invalid token",
  );
});

test("secure: an unusable key fails signatures instead of throwing", async () => {
  const auth = createAuthenticator(secureConfig("RS256", "not a pem"), { now });
  const rs = await keysFor("RS256");
  const token = await sign(base(), "RS256", rs.sign);
  assert.equal(failure(await auth.verify(token)), "INVALID_SIGNATURE: Invalid token signature");
});

test("secure: RSA keys under 2048 bits verify (configuration accepts them)", async () => {
  // jose refuses to sign or verify with such keys, so sign with WebCrypto directly.
  const pair = await crypto.subtle.generateKey(
    {
      name: "RSASSA-PKCS1-v1_5",
      modulusLength: 1024,
      publicExponent: new Uint8Array([1, 0, 1]),
      hash: "SHA-256",
    },
    true,
    ["sign", "verify"],
  );
  const b64url = (bytes: Uint8Array) =>
    btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  const json = (value: unknown) => b64url(new TextEncoder().encode(JSON.stringify(value)));
  const input = `${json({ alg: "RS256" })}.${json(base())}`;
  const signature = await crypto.subtle.sign(
    "RSASSA-PKCS1-v1_5",
    pair.privateKey,
    new TextEncoder().encode(input),
  );
  const pem = await exportSPKI(pair.publicKey);
  const auth = createAuthenticator(secureConfig("RS256", pem), { now });
  const result = await auth.verify(`${input}.${b64url(new Uint8Array(signature))}`);
  assert.ok(result.ok, failure(result));
});
