/**
 * Client authentication settings (doc 1.3.6). Only the first auth problem is reported, in the
 * doc's order, so this resolves all `AUTH_*` variables together instead of one by one.
 * Messages never quote `AUTH_JWT_KEY`: it is a secret.
 */
import { fail, ok, type Parsed, quoteList } from "./converters.ts";
import { type KeyKind, publicKeyKind } from "./spki.ts";
import type { AuthConfig, JwtAlg } from "./types.ts";

/** Raw inputs; strings are already `undefined` when blank (the base64 flag is not). */
export interface AuthInput {
  mode?: string;
  alg?: string;
  key?: string;
  keyIsBase64?: boolean;
  namespace?: string;
  issuer?: string;
  audience?: string;
}

export const JWT_ALGS: readonly JwtAlg[] = [
  "HS256",
  "HS384",
  "HS512",
  "RS256",
  "RS384",
  "RS512",
  "ES256",
  "ES384",
  "ES512",
];

const AUTH_MODES = ["secure", "insecure"];

// RFC 7518 3.2: an HMAC key must be at least as long as the hash output.
const HS_MIN_BYTES: Readonly<Record<string, number>> = { HS256: 32, HS384: 48, HS512: 64 };

const KEY_KIND: Readonly<Record<string, KeyKind>> = {
  ES256: "P-256",
  ES384: "P-384",
  ES512: "P-521",
};

/** Standard alphabet, padding optional, no whitespace; `undefined` when invalid. */
export function decodeBase64(text: string): Uint8Array | undefined {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text)) return undefined;
  const unpadded = text.replace(/=+$/, "");
  if (unpadded.length !== text.length && text.length % 4 !== 0) return undefined;
  if (unpadded.length % 4 === 1) return undefined;
  try {
    const binary = atob(unpadded.padEnd(Math.ceil(unpadded.length / 4) * 4, "="));
    return Uint8Array.from(binary, (c) => c.charCodeAt(0));
  } catch {
    return undefined;
  }
}

/** Problems name the variable at fault, which is not always `AUTH_MODE`. */
const problem = (variable: string, reason: string): Parsed<never> =>
  fail(`${variable} ${reason}`, variable);

const invalidKey = (alg: string): string =>
  `is not a valid key for AUTH_JWT_ALG=${alg} or it has invalid format.

    Keys for the RS* and ES* algorithms must be public keys in PEM format, including the
    "-----BEGIN PUBLIC KEY-----" and "-----END PUBLIC KEY-----" lines. ES256 needs a key
    on the P-256 curve, ES384 on P-384 and ES512 on P-521.`;

function hmacKey(alg: JwtAlg, key: string, isBase64: boolean): Parsed<Uint8Array> {
  const bytes = isBase64 ? decodeBase64(key) : new TextEncoder().encode(key);
  if (bytes === undefined) return problem("AUTH_JWT_KEY", "has invalid base64 encoding");
  const min = HS_MIN_BYTES[alg];
  return bytes.length >= min
    ? ok(bytes)
    : problem("AUTH_JWT_KEY", `has to be at least ${min} bytes long for ${alg}`);
}

function publicKey(alg: JwtAlg, pem: string): Parsed<string> {
  const kind = publicKeyKind(pem);
  const wanted = alg.startsWith("RS") ? "RSA" : KEY_KIND[alg];
  return kind === wanted ? ok(pem) : problem("AUTH_JWT_KEY", invalidKey(alg));
}

export function resolveAuth(input: AuthInput): Parsed<AuthConfig> {
  const mode = input.mode ?? "secure";
  if (!AUTH_MODES.includes(mode)) {
    return problem(
      "AUTH_MODE",
      `has invalid value: "${mode}". Must be one of ${quoteList(AUTH_MODES)}`,
    );
  }
  const namespace = input.namespace === undefined ? {} : { namespace: input.namespace };

  if (mode === "insecure") {
    const forbidden: Array<[string, unknown]> = [
      ["AUTH_JWT_ALG", input.alg],
      ["AUTH_JWT_KEY", input.key],
      ["AUTH_JWT_KEY_IS_BASE64_ENCODED", input.keyIsBase64],
      ["AUTH_JWT_ISS", input.issuer],
      ["AUTH_JWT_AUD", input.audience],
    ];
    const set = forbidden.find(([, value]) => value !== undefined);
    if (set) {
      return problem(
        set[0],
        "is not valid in Insecure auth mode. Did you forget to set AUTH_MODE=secure?",
      );
    }
    return ok({ mode: "insecure", ...namespace });
  }

  if (input.alg === undefined) return problem("AUTH_JWT_ALG", "not set");
  if (!(JWT_ALGS as readonly string[]).includes(input.alg)) {
    return problem(
      "AUTH_JWT_ALG",
      `has invalid value: "${input.alg}". Must be one of ${quoteList(JWT_ALGS)}`,
    );
  }
  const alg = input.alg as JwtAlg;
  if (input.key === undefined) return problem("AUTH_JWT_KEY", "not set");
  const key = alg.startsWith("HS")
    ? hmacKey(alg, input.key, input.keyIsBase64 === true)
    : publicKey(alg, input.key);
  if (!key.ok) return key;

  return ok({
    mode: "secure",
    alg,
    key: key.value,
    ...(input.issuer === undefined ? {} : { issuer: input.issuer }),
    ...(input.audience === undefined ? {} : { audience: input.audience }),
    ...namespace,
  });
}
