/**
 * Password authentication of the Postgres protocol, as pure functions: the MD5 response
 * (`md5` + hex(md5(hex(md5(password ‖ user)) ‖ salt))) and the client side of SCRAM-SHA-256
 * (RFC 5802 / RFC 7677, no channel binding), which Postgres offers as SASL mechanism
 * `SCRAM-SHA-256`. https://www.postgresql.org/docs/current/sasl-authentication.html
 *
 * Flow of SCRAM as the client sees it: AuthenticationSASL → send client-first; SASLContinue
 * (server-first) → send client-final with the proof; SASLFinal (server-final) → verify the
 * server signature; then AuthenticationOk.
 */
import { Buffer } from "node:buffer";
import { createHash, createHmac, pbkdf2Sync, timingSafeEqual } from "node:crypto";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function md5Hex(data: string | Uint8Array): string {
  return createHash("md5").update(data).digest("hex");
}

/** The text of an MD5 PasswordMessage: `md5` and 32 lowercase hex digits. */
export function md5PasswordResponse(user: string, password: string, salt: Uint8Array): string {
  const inner = md5Hex(password + user);
  const outer = new Uint8Array(32 + salt.length);
  outer.set(encoder.encode(inner));
  outer.set(salt, 32);
  return `md5${md5Hex(outer)}`;
}

/** Compares a client's MD5 response (without the NUL) with the expected one, in constant time. */
export function md5ResponseMatches(
  response: string,
  expected: { user: string; password: string; salt: Uint8Array },
): boolean {
  if (!/^md5[0-9a-f]{32}$/.test(response)) return false;
  const want = encoder.encode(md5PasswordResponse(expected.user, expected.password, expected.salt));
  return timingSafeEqual(encoder.encode(response), want);
}

export const SCRAM_SHA_256 = "SCRAM-SHA-256";

export interface ScramClient {
  clientNonce: string;
  clientFirstBare: string;
  password: string;
}

export type ScramResult<T> = { ok: true; value: T } | { ok: false; message: string };

/** Starts an exchange; `nonce` is random printable text (base64 of 18 random bytes, say). */
export function scramClientFirst(
  password: string,
  nonce: string,
): { state: ScramClient; message: Uint8Array } {
  // Postgres ignores the SCRAM user name (it uses the startup user), so it is left empty.
  const clientFirstBare = `n=,r=${nonce}`;
  return {
    state: { clientNonce: nonce, clientFirstBare, password },
    message: encoder.encode(`n,,${clientFirstBare}`),
  };
}

function hmac(key: Uint8Array, data: string): Uint8Array {
  return new Uint8Array(createHmac("sha256", key).update(data).digest());
}

function xor(a: Uint8Array, b: Uint8Array): Uint8Array {
  return a.map((v, i) => v ^ b[i]);
}

function attributes(text: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const part of text.split(",")) {
    const eq = part.indexOf("=");
    if (eq > 0) map.set(part.slice(0, eq), part.slice(eq + 1));
  }
  return map;
}

/** Answers server-first with client-final; returns the server signature to expect. */
export function scramClientFinal(
  state: ScramClient,
  serverFirst: Uint8Array,
): ScramResult<{ message: Uint8Array; serverSignature: string }> {
  const serverFirstText = decoder.decode(serverFirst);
  const attrs = attributes(serverFirstText);
  const nonce = attrs.get("r");
  const salt = attrs.get("s");
  const iterations = Number(attrs.get("i"));
  if (!nonce || !salt || !Number.isInteger(iterations) || iterations < 1) {
    return { ok: false, message: "SCRAM server-first message is malformed" };
  }
  if (!nonce.startsWith(state.clientNonce)) {
    return { ok: false, message: "SCRAM server nonce does not extend the client nonce" };
  }
  const salted = new Uint8Array(
    pbkdf2Sync(
      state.password.normalize("NFKC"),
      Buffer.from(salt, "base64"),
      iterations,
      32,
      "sha256",
    ),
  );
  const clientKey = hmac(salted, "Client Key");
  const storedKey = new Uint8Array(createHash("sha256").update(clientKey).digest());
  const withoutProof = `c=biws,r=${nonce}`;
  const authMessage = `${state.clientFirstBare},${serverFirstText},${withoutProof}`;
  const proof = xor(clientKey, hmac(storedKey, authMessage));
  const serverKey = hmac(salted, "Server Key");
  const serverSignature = Buffer.from(hmac(serverKey, authMessage)).toString("base64");
  return {
    ok: true,
    value: {
      message: encoder.encode(`${withoutProof},p=${Buffer.from(proof).toString("base64")}`),
      serverSignature,
    },
  };
}

/** Checks server-final (`v=<signature>`) against the expected signature. */
export function scramVerifyServerFinal(serverFinal: Uint8Array, serverSignature: string): boolean {
  const v = attributes(decoder.decode(serverFinal)).get("v");
  return v === serverSignature;
}
