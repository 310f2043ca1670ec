/**
 * Client authentication: verifies the JWT a Satellite client sends in its `authenticate` RPC
 * (doc 4, satellite-protocol 3.2) and yields the user id, or a failure value with a code and
 * the reason the service logs.
 *
 * Secure mode checks the configured algorithm, the signature and the claims; insecure mode
 * (development) ignores header and signature, accepts the client's unsigned tokens and only
 * checks the time claims that are present. This module owns no connection state: the
 * Satellite session decides replies, close codes, renewals and any expiry timer.
 */
export type {
  Authenticator,
  AuthenticatorOptions,
  AuthFailure,
  AuthFailureCode,
  AuthResult,
} from "./types.ts";
export { createAuthenticator } from "./authenticator.ts";
export { expiryDelayMs } from "./expiry.ts";
