/**
 * Claim checks and user-id extraction (doc 4.2), pure so the ordering rules are testable
 * without signing anything.
 *
 * Order matters because only the first failure is reported: claims present in the token are
 * checked in ascending name order, then missing required claims (alphabetically first), then
 * the user id.
 */
import { isPlainObject } from "./decode.ts";
import { type AuthFailure, fail, MISSING_USER_ID } from "./types.ts";

export interface ClaimRules {
  /** Whole seconds since the epoch. */
  nowSeconds: number;
  toleranceSeconds: number;
  /** Claim names that must be present (secure mode: `iat`, `exp`, and `iss`/`aud` when set). */
  required: readonly string[];
  /** Compared exactly when given; never in insecure mode. */
  issuer?: string;
  audience?: string;
}

type Check = { ok: true } | { ok: false; error: AuthFailure };

const OK: Check = { ok: true };

// Claim values come from the client and end up in a log line: keep them short.
const MAX_LITERAL = 80;

/** The claim value as a JSON literal, e.g. `"other"` or `1717243320`. */
export function literal(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > MAX_LITERAL ? `${text.slice(0, MAX_LITERAL)}…` : text;
}

const invalid = (claim: string, value: unknown): { ok: false; error: AuthFailure } =>
  fail("INVALID_CLAIM", `Invalid "${claim}" claim value: ${literal(value)}`);

const isTime = (value: unknown): value is number =>
  typeof value === "number" && Number.isFinite(value);

type Checker = (value: unknown, rules: ClaimRules) => Check;

// Keyed by claim name; iterated in sorted order, which is the order the doc prescribes.
const CHECKERS: Readonly<Record<string, Checker>> = {
  aud: (value, { audience }) =>
    audience === undefined || value === audience ? OK : invalid("aud", value),
  exp: (value, { nowSeconds, toleranceSeconds }) => {
    if (!isTime(value)) return invalid("exp", value);
    return value + toleranceSeconds >= nowSeconds ? OK : fail("EXPIRED", "Expired token");
  },
  iat: (value, { nowSeconds, toleranceSeconds }) =>
    isTime(value) && value - toleranceSeconds <= nowSeconds ? OK : invalid("iat", value),
  iss: (value, { issuer }) => issuer === undefined || value === issuer ? OK : invalid("iss", value),
  nbf: (value, { nowSeconds, toleranceSeconds }) => {
    if (!isTime(value)) return invalid("nbf", value);
    return value - toleranceSeconds <= nowSeconds
      ? OK
      : fail("NOT_YET_VALID", "Token is not yet valid");
  },
};

const CLAIM_ORDER = Object.keys(CHECKERS).sort();

export function checkClaims(payload: Record<string, unknown>, rules: ClaimRules): Check {
  for (const claim of CLAIM_ORDER) {
    if (!(claim in payload)) continue;
    const result = CHECKERS[claim](payload[claim], rules);
    if (!result.ok) return result;
  }
  const missing = [...rules.required].sort().find((claim) => !(claim in payload));
  return missing === undefined ? OK : fail("MISSING_CLAIM", `Missing required "${missing}" claim`);
}

export type UserIdResult = { ok: true; userId: string } | { ok: false; error: AuthFailure };

/**
 * `sub`, or the legacy `user_id` when `sub` is absent, null or false; with a namespace, only
 * inside that top-level object. A namespace value that is not an object is an invalid claim
 * (the reference crashes there, doc 4.4).
 */
export function userIdFrom(payload: Record<string, unknown>, namespace?: string): UserIdResult {
  let scope = payload;
  if (namespace) {
    const nested = payload[namespace];
    if (nested === undefined || nested === null) return fail("MISSING_USER_ID", MISSING_USER_ID);
    if (!isPlainObject(nested)) return invalid(namespace, nested);
    scope = nested;
  }
  const sub = scope.sub;
  const candidate = sub === undefined || sub === null || sub === false ? scope.user_id : sub;
  return typeof candidate === "string" && candidate.trim() !== ""
    ? { ok: true, userId: candidate }
    : fail("MISSING_USER_ID", MISSING_USER_ID);
}
