/**
 * Token verification for both auth modes (doc 4.2–4.4): decode, then (secure only) algorithm
 * and signature, then claims, then the user id. Every failure is returned as a value.
 */
import type { AuthConfig } from "../config/mod.ts";
import { checkClaims, type ClaimRules, userIdFrom } from "./claims.ts";
import { type DecodedToken, decodeLenientBase64, decodeToken } from "./decode.ts";
import { createSignatureVerifier, type SignatureVerifier } from "./signature.ts";
import {
  ALG_MISMATCH,
  type Authenticator,
  type AuthenticatorOptions,
  type AuthFailure,
  type AuthResult,
  BAD_SIGNATURE,
  fail,
  MALFORMED,
} from "./types.ts";

const DEFAULT_TOLERANCE_SECONDS = 2;

type Step = { ok: true } | { ok: false; error: AuthFailure };

export function createAuthenticator(
  config: AuthConfig,
  options: AuthenticatorOptions = {},
): Authenticator {
  const now = options.now ?? (() => new Date());
  const toleranceSeconds = options.clockToleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  const secure = config.mode === "secure";
  const verifier = secure ? createSignatureVerifier(config.alg, config.key) : undefined;

  const rules = (): ClaimRules => {
    const nowSeconds = Math.floor(now().getTime() / 1000);
    if (config.mode === "insecure") return { nowSeconds, toleranceSeconds, required: [] };
    const { issuer, audience } = config;
    return {
      nowSeconds,
      toleranceSeconds,
      required: [
        "exp",
        "iat",
        ...(issuer === undefined ? [] : ["iss"]),
        ...(audience === undefined ? [] : ["aud"]),
      ],
      ...(issuer === undefined ? {} : { issuer }),
      ...(audience === undefined ? {} : { audience }),
    };
  };

  async function verify(token: string): Promise<AuthResult> {
    const decoded = decodeToken(token, { allowTwoParts: !secure });
    if (!decoded.ok) return decoded;
    const { payload } = decoded.token;
    if (config.mode === "secure" && verifier !== undefined) {
      const signed = await checkSignature(decoded.token, config.alg, verifier);
      if (!signed.ok) return signed;
    }
    const claims = checkClaims(payload, rules());
    if (!claims.ok) return claims;
    const user = userIdFrom(payload, config.namespace);
    if (!user.ok) return user;
    const exp = payload.exp;
    return {
      ok: true,
      userId: user.userId,
      ...(typeof exp === "number" ? { expiresAt: new Date(exp * 1000) } : {}),
      claims: payload,
    };
  }

  return {
    // A last guard: nothing in a token should be able to make verification throw.
    verify: (token) => verify(token).catch(() => fail("MALFORMED_TOKEN", MALFORMED)),
  };
}

async function checkSignature(
  token: DecodedToken,
  alg: string,
  verifier: SignatureVerifier,
): Promise<Step> {
  if (token.header.alg !== alg) return fail("ALGORITHM_MISMATCH", ALG_MISMATCH);
  const signature = decodeLenientBase64(token.signature ?? "");
  if (signature === undefined) return fail("MALFORMED_TOKEN", MALFORMED);
  const valid = await verifier(token.signingInput, signature);
  return valid ? { ok: true } : fail("INVALID_SIGNATURE", BAD_SIGNATURE);
}
