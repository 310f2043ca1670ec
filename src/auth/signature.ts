/**
 * Signature verification for secure mode.
 *
 * jose reads the PEM (`importSPKI`), but the check itself is a direct WebCrypto `verify`:
 * jose's verifiers refuse RSA keys under 2048 bits, which configuration (doc 1.3.6) and the
 * reference accept, and JWS signatures are already in WebCrypto's formats (raw `r‖s` for
 * ECDSA, RFC 7518 3.4), so nothing needs converting.
 */
import { importSPKI } from "jose";
import type { JwtAlg } from "../config/mod.ts";

type Params = AlgorithmIdentifier | EcdsaParams;

const HASH: Readonly<Record<string, string>> = {
  "256": "SHA-256",
  "384": "SHA-384",
  "512": "SHA-512",
};

function verifyParams(alg: JwtAlg): Params {
  if (alg.startsWith("HS")) return { name: "HMAC" };
  if (alg.startsWith("RS")) return { name: "RSASSA-PKCS1-v1_5" };
  return { name: "ECDSA", hash: HASH[alg.slice(2)] };
}

async function importKey(alg: JwtAlg, key: Uint8Array | string): Promise<CryptoKey> {
  if (alg.startsWith("HS")) {
    const bytes = typeof key === "string" ? new TextEncoder().encode(key) : Uint8Array.from(key);
    return await crypto.subtle.importKey(
      "raw",
      bytes,
      { name: "HMAC", hash: HASH[alg.slice(2)] },
      false,
      ["verify"],
    );
  }
  const pem = typeof key === "string" ? key : new TextDecoder().decode(key);
  return await importSPKI(pem, alg);
}

/** Verifies `signingInput` against raw signature bytes; `false` on any failure. */
export type SignatureVerifier = (
  signingInput: string,
  signature: Uint8Array<ArrayBuffer>,
) => Promise<boolean>;

/**
 * The key is imported on first use and cached; a key that cannot be imported (configuration
 * validates it, so this should not happen) makes every signature fail rather than throw.
 */
export function createSignatureVerifier(alg: JwtAlg, key: Uint8Array | string): SignatureVerifier {
  const params = verifyParams(alg);
  let cached: Promise<CryptoKey | undefined> | undefined;
  return async (signingInput, signature) => {
    cached ??= importKey(alg, key).catch(() => undefined);
    const cryptoKey = await cached;
    if (cryptoKey === undefined) return false;
    try {
      const data = new TextEncoder().encode(signingInput);
      return await crypto.subtle.verify(params, cryptoKey, signature, data);
    } catch {
      return false;
    }
  };
}
