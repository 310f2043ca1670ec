/**
 * Synchronous structural check of a PEM `PUBLIC KEY` (SubjectPublicKeyInfo, RFC 5280) for the
 * RS* and ES* JWT algorithms.
 *
 * Why not jose's `importSPKI`: it is asynchronous (WebCrypto), while `loadConfig` must stay
 * synchronous so start-up can report every problem at once before anything else runs. This
 * reads just enough DER to know the key type, the EC curve and the shape of the key material;
 * `auth_test.ts` checks that it agrees with `importSPKI` under both runtimes.
 */

export type KeyKind = "RSA" | "P-256" | "P-384" | "P-521";

// DER of the OIDs we accept (tag and length included).
const OID_RSA = "06092a864886f70d010101"; // 1.2.840.113549.1.1.1 rsaEncryption
const OID_EC = "06072a8648ce3d0201"; // 1.2.840.10045.2.1 ecPublicKey
// Curve y² = x³ - 3x + b over GF(p) (FIPS 186-4 D.1.2), keyed by the DER of the curve OID.
interface Curve {
  kind: KeyKind;
  size: number;
  p: bigint;
  b: bigint;
}
const CURVES: Readonly<Record<string, Curve>> = {
  "06082a8648ce3d030107": { // prime256v1
    kind: "P-256",
    size: 32,
    p: 2n ** 256n - 2n ** 224n + 2n ** 192n + 2n ** 96n - 1n,
    b: 0x5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604bn,
  },
  "06052b81040022": { // secp384r1
    kind: "P-384",
    size: 48,
    p: 2n ** 384n - 2n ** 128n - 2n ** 96n + 2n ** 32n - 1n,
    b: 0xb3312fa7e23ee7e4988e056be3f82d19181d9c6efe8141120314088f5013875ac656398d8a2ed19d2a85c8edd3ec2aefn,
  },
  "06052b81040023": { // secp521r1
    kind: "P-521",
    size: 66,
    p: 2n ** 521n - 1n,
    b: 0x0051953eb9618e1c9a1f929a21a0b68540eea2da725b99b315f3b8b489918ef109e156193951ec7e937b1652c0bd3bb1bf073573df883d2c34f1ef451fd46b503f00n,
  },
};

const PEM = /^\s*-----BEGIN PUBLIC KEY-----\s*([A-Za-z0-9+/=\s]+?)\s*-----END PUBLIC KEY-----\s*$/;

interface Tlv {
  tag: number;
  start: number; // first content byte
  end: number; // one past the last content byte
}

function readTlv(der: Uint8Array, at: number, limit: number): Tlv | undefined {
  if (at + 2 > limit) return undefined;
  const tag = der[at];
  let length = der[at + 1];
  let start = at + 2;
  if (length & 0x80) {
    const count = length & 0x7f;
    if (count === 0 || count > 3 || start + count > limit) return undefined;
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + der[start + i];
    start += count;
  }
  const end = start + length;
  return end > limit ? undefined : { tag, start, end };
}

const hex = (der: Uint8Array, from: number, to: number): string =>
  Array.from(der.subarray(from, to), (b) => b.toString(16).padStart(2, "0")).join("");

function pemToDer(pem: string): Uint8Array | undefined {
  const body = PEM.exec(pem)?.[1].replace(/\s+/g, "");
  if (!body || body.length % 4 !== 0) return undefined;
  try {
    return Uint8Array.from(atob(body), (c) => c.charCodeAt(0));
  } catch {
    return undefined;
  }
}

function rsaKeyIsWellFormed(der: Uint8Array, start: number, end: number): boolean {
  const seq = readTlv(der, start, end);
  if (seq?.tag !== 0x30 || seq.end !== end) return false;
  const modulus = readTlv(der, seq.start, seq.end);
  if (modulus?.tag !== 0x02) return false;
  const exponent = readTlv(der, modulus.end, seq.end);
  return exponent?.tag === 0x02 && exponent.end === seq.end;
}

const toBigInt = (bytes: Uint8Array): bigint => BigInt(`0x${hex(bytes, 0, bytes.length) || "0"}`);

/**
 * An uncompressed point (0x04 || X || Y) that lies on the curve. Bun's WebCrypto checks the
 * curve equation at import, Deno's only when verifying; checking here turns a corrupted key
 * into a start-up error on both. Compressed points are refused, as WebCrypto refuses them.
 */
function ecPointIsValid(der: Uint8Array, start: number, end: number, curve: Curve): boolean {
  if (der[start] !== 0x04 || end - start !== 1 + 2 * curve.size) return false;
  const x = toBigInt(der.subarray(start + 1, start + 1 + curve.size));
  const y = toBigInt(der.subarray(start + 1 + curve.size, end));
  const { p, b } = curve;
  if (x >= p || y >= p) return false;
  const rhs = ((x * x % p) * x - 3n * x + b) % p;
  return (y * y - rhs) % p === 0n;
}

/** The key type of a PEM `PUBLIC KEY`, or `undefined` when it is not a usable RSA/EC key. */
export function publicKeyKind(pem: string): KeyKind | undefined {
  const der = pemToDer(pem);
  if (!der) return undefined;
  const spki = readTlv(der, 0, der.length);
  if (spki?.tag !== 0x30 || spki.end !== der.length) return undefined;
  const algorithm = readTlv(der, spki.start, spki.end);
  if (algorithm?.tag !== 0x30) return undefined;
  const oid = readTlv(der, algorithm.start, algorithm.end);
  if (oid?.tag !== 0x06) return undefined;
  const params = readTlv(der, oid.end, algorithm.end);
  const key = readTlv(der, algorithm.end, spki.end);
  // BIT STRING whose first content byte (unused bits) is 0.
  if (key?.tag !== 0x03 || key.end !== spki.end || der[key.start] !== 0) return undefined;

  const oidHex = hex(der, oid.start - 2, oid.end);
  if (oidHex === OID_RSA) {
    return rsaKeyIsWellFormed(der, key.start + 1, key.end) ? "RSA" : undefined;
  }
  if (oidHex === OID_EC && params?.tag === 0x06) {
    const curve = CURVES[hex(der, oid.end, params.end)];
    if (curve && ecPointIsValid(der, key.start + 1, key.end, curve)) return curve.kind;
  }
  return undefined;
}
