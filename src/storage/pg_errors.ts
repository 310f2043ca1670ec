/**
 * Turns failures to reach or use Postgres into coded values with a hint for the user.
 * Postgres errors are matched by SQLSTATE and socket errors by their error code, never by
 * message text.
 */

export type PgFailureCode =
  | "CONNECTION_REFUSED"
  | "HOST_NOT_FOUND"
  | "TIMEOUT"
  | "AUTHENTICATION_FAILED"
  | "DATABASE_NOT_FOUND"
  | "SSL_NOT_SUPPORTED"
  | "SSL_HANDSHAKE_FAILED"
  | "SSL_REQUIRED_BY_SERVER"
  | "TOO_MANY_CONNECTIONS"
  | "SERVER_SHUTTING_DOWN"
  | "INSUFFICIENT_PRIVILEGE"
  | "UNKNOWN";

export interface PgFailure {
  code: PgFailureCode;
  message: string;
  hint?: string;
  /** Whether retrying can help without the user changing anything. */
  transient: boolean;
}

interface ErrorLike {
  code?: unknown;
  errno?: unknown;
  message?: unknown;
}

const SSL_HINT = "SSL is required (DATABASE_REQUIRE_SSL=true, or no sslmode in DATABASE_URL), " +
  "and the database did not complete an SSL handshake. If it does not accept SSL connections, " +
  "restart Electric with DATABASE_REQUIRE_SSL=false or add ?sslmode=disable to DATABASE_URL.";

/** `requireSsl`: whether the failed connection insisted on SSL (changes what a reset means). */
export function classifyPgError(error: unknown, context: { requireSsl?: boolean } = {}): PgFailure {
  const e = (error ?? {}) as ErrorLike;
  const code = typeof e.code === "string" ? e.code : "";
  const message = typeof e.message === "string" ? e.message : String(error);
  if (
    context.requireSsl &&
    (code === "ECONNRESET" || code === "EPROTO" || code.startsWith("ERR_SSL") ||
      code.startsWith("ERR_TLS"))
  ) {
    return { code: "SSL_HANDSHAKE_FAILED", message, hint: SSL_HINT, transient: true };
  }
  switch (code) {
    case "ECONNREFUSED":
    case "ECONNRESET":
    case "EPIPE":
    case "CONNECTION_CLOSED":
    case "CONNECTION_ENDED":
    case "CONNECTION_DESTROYED":
      return {
        code: "CONNECTION_REFUSED",
        message,
        hint: "Check that Postgres is running and that DATABASE_URL points at it.",
        transient: true,
      };
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return {
        code: "HOST_NOT_FOUND",
        message,
        hint:
          "Check the host name in DATABASE_URL; for an IPv6-only host set DATABASE_USE_IPV6=true.",
        transient: true,
      };
    case "CONNECT_TIMEOUT":
    case "ETIMEDOUT":
      return { code: "TIMEOUT", message, transient: true };
    case "28P01":
    case "28000":
      return {
        code: "AUTHENTICATION_FAILED",
        message,
        hint: "Check the user name and password in DATABASE_URL.",
        transient: true,
      };
    case "3D000":
      return {
        code: "DATABASE_NOT_FOUND",
        message,
        hint: "Create the database, or fix the database name in DATABASE_URL.",
        transient: true,
      };
    case "SERVER_DOES_NOT_SUPPORT_SSL":
      return {
        code: "SSL_NOT_SUPPORTED",
        message,
        hint: "The database does not accept SSL connections. " +
          "Restart Electric with DATABASE_REQUIRE_SSL=false to allow unencrypted connections.",
        transient: true,
      };
    case "53300":
      return { code: "TOO_MANY_CONNECTIONS", message, transient: true };
    case "57P01":
    case "57P02":
    case "57P03":
      return { code: "SERVER_SHUTTING_DOWN", message, transient: true };
    case "42501":
      return { code: "INSUFFICIENT_PRIVILEGE", message, transient: false };
  }
  return { code: "UNKNOWN", message, transient: true };
}

/** SQLSTATE classes are two digits or one of these; socket error codes (EPIPE) are not. */
const SQLSTATE = /^(?:[0-9]{2}|F0|HV|P0|XX)[0-9A-Z]{3}$/;

/**
 * Whether a query failed because its connection is gone: a socket error or one of
 * postgres.js's own codes (CONNECTION_CLOSED, …), a connection exception (08) or an operator
 * intervention such as a terminated backend (57P). Such a connection must not be used again.
 * An error without a code did not come from the connection.
 */
export function connectionLost(error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code;
  if (typeof code !== "string" || code === "") return false;
  if (!SQLSTATE.test(code)) return true;
  return code.startsWith("08") || code.startsWith("57P");
}
