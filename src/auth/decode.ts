/**
 * Splitting and decoding a compact JWT, without verifying anything (pure).
 *
 * Decoding is deliberately lenient: the 0.12.1 client's unsigned-token encoder replaces only
 * the first `/` with `_`, so both base64 alphabets are accepted, mixed, with or without
 * padding. Tokens from real JWT libraries are strict base64url and decode the same way.
 */
import { type AuthFailure, fail, MALFORMED } from "./types.ts";

export interface DecodedToken {
  header: Record<string, unknown>;
  payload: Record<string, unknown>;
  /** `header.payload` exactly as received: the bytes a signature covers. */
  signingInput: string;
  /** Raw third segment; `undefined` for a two-part token. */
  signature?: string;
}

export type Decoded = { ok: true; token: DecodedToken } | { ok: false; error: AuthFailure };

/** Either base64 alphabet, padding optional; `undefined` when not base64 at all. */
export function decodeLenientBase64(text: string): Uint8Array<ArrayBuffer> | undefined {
  const normal = text.replace(/-/g, "+").replace(/_/g, "/").replace(/={1,2}$/, "");
  if (!/^[A-Za-z0-9+/]*$/.test(normal) || normal.length % 4 === 1) return undefined;
  try {
    const binary = atob(normal.padEnd(Math.ceil(normal.length / 4) * 4, "="));
    return Uint8Array.from(binary, (c) => c.charCodeAt(0));
  } catch {
    return undefined;
  }
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** A JSON object (not an array, not null) from a base64 segment, or `undefined`. */
function decodeJsonObject(segment: string): Record<string, unknown> | undefined {
  const bytes = decodeLenientBase64(segment);
  if (bytes === undefined) return undefined;
  try {
    const value: unknown = JSON.parse(utf8.decode(bytes));
    return isPlainObject(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Secure mode requires exactly three segments; insecure mode also takes `header.payload`
 * (doc 4.2). A payload that is not a JSON object is malformed rather than a crash (doc 4.4).
 */
export function decodeToken(token: string, options: { allowTwoParts: boolean }): Decoded {
  if (typeof token !== "string") return fail("MALFORMED_TOKEN", MALFORMED);
  const parts = token.split(".");
  const shapeOk = parts.length === 3 || (options.allowTwoParts && parts.length === 2);
  if (!shapeOk) return fail("MALFORMED_TOKEN", MALFORMED);
  const header = decodeJsonObject(parts[0]);
  const payload = decodeJsonObject(parts[1]);
  if (header === undefined || payload === undefined) return fail("MALFORMED_TOKEN", MALFORMED);
  return {
    ok: true,
    token: {
      header,
      payload,
      signingInput: `${parts[0]}.${parts[1]}`,
      ...(parts.length === 3 ? { signature: parts[2] } : {}),
    },
  };
}
