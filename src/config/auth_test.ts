import { test } from "node:test";
import assert from "node:assert/strict";
import { exportSPKI, generateKeyPair, importSPKI } from "jose";
import { type AuthInput, decodeBase64, resolveAuth } from "./auth.ts";
import { publicKeyKind } from "./spki.ts";

const SECRET_32 = "0123456789abcdef0123456789abcdef";

const problem = (input: AuthInput) => {
  const result = resolveAuth(input);
  assert.equal(result.ok, false);
  return result.ok ? { message: "", variable: undefined } : result;
};

const pems: Record<string, Promise<string>> = {};
const pemFor = (alg: string): Promise<string> =>
  pems[alg] ??= generateKeyPair(alg, { extractable: true }).then(({ publicKey }) =>
    exportSPKI(publicKey)
  );

test("default mode is secure and needs an alg, then a key", () => {
  assert.deepEqual(problem({}), {
    ok: false,
    message: "AUTH_JWT_ALG not set",
    variable: "AUTH_JWT_ALG",
  });
  assert.equal(problem({ alg: "HS256" }).message, "AUTH_JWT_KEY not set");
  assert.equal(
    problem({ alg: "hs256", key: SECRET_32 }).message,
    'AUTH_JWT_ALG has invalid value: "hs256". Must be one of ["HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "ES256", "ES384", "ES512"]',
  );
});

test("invalid AUTH_MODE is reported first and alone", () => {
  assert.deepEqual(problem({ mode: "Secure", key: "x" }), {
    ok: false,
    message: 'AUTH_MODE has invalid value: "Secure". Must be one of ["secure", "insecure"]',
    variable: "AUTH_MODE",
  });
});

test("HS key lengths", () => {
  for (const [alg, min] of [["HS256", 32], ["HS384", 48], ["HS512", 64]] as const) {
    assert.equal(
      problem({ alg, key: "k".repeat(min - 1) }).message,
      `AUTH_JWT_KEY has to be at least ${min} bytes long for ${alg}`,
    );
    const ok = resolveAuth({ alg, key: "k".repeat(min) });
    assert.ok(ok.ok && ok.value.mode === "secure");
    if (ok.ok && ok.value.mode === "secure") {
      assert.deepEqual(ok.value.key, new TextEncoder().encode("k".repeat(min)));
    }
  }
  // Length is in bytes, not characters.
  assert.ok(resolveAuth({ alg: "HS256", key: "é".repeat(16) }).ok);
});

test("HS key given as base64", () => {
  const bytes = Uint8Array.from({ length: 64 }, (_, i) => i * 3);
  const encoded = btoa(String.fromCharCode(...bytes));
  const result = resolveAuth({ alg: "HS512", key: encoded, keyIsBase64: true });
  assert.ok(result.ok && result.value.mode === "secure");
  if (result.ok && result.value.mode === "secure") assert.deepEqual(result.value.key, bytes);
  // Padding optional.
  assert.ok(resolveAuth({ alg: "HS512", key: encoded.replace(/=+$/, ""), keyIsBase64: true }).ok);
  assert.equal(
    problem({ alg: "HS512", key: "!!!", keyIsBase64: true }).message,
    "AUTH_JWT_KEY has invalid base64 encoding",
  );
  // The flag set to false means the key is used as-is.
  assert.ok(resolveAuth({ alg: "HS256", key: SECRET_32, keyIsBase64: false }).ok);
});

test("base64 decoding rules", () => {
  assert.deepEqual(decodeBase64("YWJj"), new TextEncoder().encode("abc"));
  assert.deepEqual(decodeBase64("YWI="), new TextEncoder().encode("ab"));
  assert.deepEqual(decodeBase64("YWI"), new TextEncoder().encode("ab"));
  assert.deepEqual(decodeBase64("+/+/"), Uint8Array.from([0xfb, 0xff, 0xbf]));
  for (const bad of ["YW Jj", "YWJ=j", "-_-_", "Y", "YWI==", "YW=", "YWJj\n"]) {
    assert.equal(decodeBase64(bad), undefined, bad);
  }
});

test("issuer, audience and namespace in secure mode", () => {
  const result = resolveAuth({
    alg: "HS256",
    key: SECRET_32,
    issuer: "iss",
    audience: "aud",
    namespace: "https://x/claims",
  });
  assert.ok(result.ok);
  if (result.ok) {
    assert.deepEqual({ ...result.value, key: undefined }, {
      mode: "secure",
      alg: "HS256",
      key: undefined,
      issuer: "iss",
      audience: "aud",
      namespace: "https://x/claims",
    });
  }
});

test("insecure mode rejects secure-only variables, first one wins", () => {
  const message = (variable: string) =>
    `${variable} is not valid in Insecure auth mode. Did you forget to set AUTH_MODE=secure?`;
  assert.equal(problem({ mode: "insecure", alg: "HS256" }).message, message("AUTH_JWT_ALG"));
  assert.equal(
    problem({ mode: "insecure", key: "x", audience: "a" }).message,
    message("AUTH_JWT_KEY"),
  );
  assert.equal(
    problem({ mode: "insecure", keyIsBase64: false }).message,
    message("AUTH_JWT_KEY_IS_BASE64_ENCODED"),
  );
  assert.equal(problem({ mode: "insecure", issuer: "i" }).message, message("AUTH_JWT_ISS"));
  assert.equal(problem({ mode: "insecure", audience: "a" }).variable, "AUTH_JWT_AUD");
  assert.deepEqual(resolveAuth({ mode: "insecure", namespace: "ns" }), {
    ok: true,
    value: { mode: "insecure", namespace: "ns" },
  });
  assert.deepEqual(resolveAuth({ mode: "insecure" }), { ok: true, value: { mode: "insecure" } });
});

test("RS and ES keys must match the algorithm", async () => {
  const matrix: Array<[string, string[]]> = [
    ["RS256", ["RS256", "RS384", "RS512"]],
    ["ES256", ["ES256"]],
    ["ES384", ["ES384"]],
    ["ES512", ["ES512"]],
  ];
  for (const [keyAlg, accepted] of matrix) {
    const pem = await pemFor(keyAlg);
    for (const alg of ["RS256", "RS384", "RS512", "ES256", "ES384", "ES512"]) {
      const result = resolveAuth({ alg, key: pem });
      assert.equal(result.ok, accepted.includes(alg), `${keyAlg} key with ${alg}`);
      if (result.ok && result.value.mode === "secure") assert.equal(result.value.key, pem);
      if (!result.ok) {
        assert.ok(
          result.message.startsWith(
            `AUTH_JWT_KEY is not a valid key for AUTH_JWT_ALG=${alg} or it has invalid format.`,
          ),
        );
        assert.match(result.message, /\n\n {4}.*-----BEGIN PUBLIC KEY-----/s);
        assert.ok(!result.message.includes(pem.split("\n")[1]), "key material not echoed");
      }
    }
  }
});

// Flips one base64 character of the key material near the end (the EC point's Y coordinate).
const tamper = (pem: string): string =>
  pem.replace(/[A-Za-z](?=[A-Za-z0-9+/]{4,}=*\n-----END)/, (c) => (c === "A" ? "B" : "A"));

test("the synchronous SPKI check agrees with jose importSPKI", async () => {
  for (const keyAlg of ["RS256", "ES256", "ES384", "ES512"]) {
    const pem = await pemFor(keyAlg);
    for (const alg of ["RS256", "RS512", "ES256", "ES384", "ES512"]) {
      const joseAccepts = await importSPKI(pem, alg).then(() => true, () => false);
      const kind = publicKeyKind(pem);
      const ours = alg.startsWith("RS")
        ? kind === "RSA"
        : kind === { ES256: "P-256", ES384: "P-384", ES512: "P-521" }[alg];
      assert.equal(ours, joseAccepts, `${keyAlg} key with ${alg}`);
    }
  }
});

test("EC points off the curve are rejected (stricter than Deno's WebCrypto import)", async () => {
  for (const alg of ["ES256", "ES384", "ES512"]) {
    const pem = await pemFor(alg);
    assert.ok(resolveAuth({ alg, key: pem }).ok);
    assert.equal(resolveAuth({ alg, key: tamper(pem) }).ok, false, alg);
  }
});

test("malformed PEM text is rejected", async () => {
  const pem = await pemFor("ES256");
  const body = pem.split("\n").slice(1, -2).join("\n");
  const broken = [
    "not a key",
    body,
    pem.replace("PUBLIC KEY", "RSA PUBLIC KEY"),
    tamper(pem), // a point that is no longer on the curve
    pem.replace(body, body.slice(0, 40)),
    SECRET_32,
  ];
  assert.equal(new Set(broken).size, broken.length);
  for (const key of broken) assert.equal(resolveAuth({ alg: "ES256", key }).ok, false, key);
  // The base64 flag only concerns HS* keys.
  assert.ok(resolveAuth({ alg: "ES256", key: pem, keyIsBase64: true }).ok);
  // Surrounding whitespace and CRLF line ends are fine.
  assert.ok(resolveAuth({ alg: "ES256", key: `\n${pem.replaceAll("\n", "\r\n")}  ` }).ok);
});
