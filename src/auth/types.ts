/**
 * Result types of token verification. Failures are values, never exceptions: the Satellite
 * session maps every one of them to `AUTH_REQUIRED` and only logs the message.
 */

export type AuthFailureCode =
  | "MALFORMED_TOKEN"
  | "INVALID_SIGNATURE"
  | "ALGORITHM_MISMATCH"
  | "EXPIRED"
  | "NOT_YET_VALID"
  | "MISSING_CLAIM"
  | "INVALID_CLAIM"
  | "MISSING_USER_ID";

/** `message` is the reason the service logs (doc 4.2); it never quotes the token or a key. */
export interface AuthFailure {
  code: AuthFailureCode;
  message: string;
}

export type AuthResult =
  | { ok: true; userId: string; expiresAt?: Date; claims: Record<string, unknown> }
  | { ok: false; error: AuthFailure };

export interface Authenticator {
  verify(token: string): Promise<AuthResult>;
}

export interface AuthenticatorOptions {
  /** Clock used for `iat`/`nbf`/`exp`; tests pin it. */
  now?: () => Date;
  /** Allowed clock drift for the time claims; the reference fixes it at 2 s. */
  clockToleranceSeconds?: number;
}

export const fail = (
  code: AuthFailureCode,
  message: string,
): { ok: false; error: AuthFailure } => ({
  ok: false,
  error: { code, message },
});

export const MALFORMED = "Invalid token";
export const ALG_MISMATCH = "Signing algorithm mismatch";
export const BAD_SIGNATURE = "Invalid token signature";
export const MISSING_USER_ID = "Missing or invalid 'user_id'";
