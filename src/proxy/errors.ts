/**
 * Errors the proxy answers itself (proxy-http-auth-config.md §3.7), as values with a SQLSTATE
 * `code`, translated once into ErrorResponse fields at the edge of the session.
 */
import type { NoticeFields } from "../pgwire/mod.ts";
import type { QualifiedName } from "./ddlx.ts";

export interface ProxyError {
  /** SQLSTATE, or Electric's `EXnnn`. */
  code: string;
  message: string;
  severity?: "ERROR" | "FATAL";
  detail?: string;
  /** 1-based character position in `query`. */
  position?: number;
  query?: string;
  schema?: string;
  table?: string;
}

export const ADDITIVE_ONLY_DETAIL =
  "Electric currently only supports additive migrations (ADD COLUMN, ADD INDEX)";

export const UNSUPPORTED_DDLX_DETAIL =
  "We are working on implementing access controls -- when these features are completed then this command will work";

/** A refused change to an electrified table (§3.7: extended-protocol refusals carry more). */
export function refusal(
  code: string,
  message: string,
  table: QualifiedName | undefined,
  extended: boolean,
): ProxyError {
  if (!extended) return { code, message };
  return {
    code,
    message,
    detail: ADDITIVE_ONLY_DETAIL,
    ...(table ? { schema: table.schema, table: table.name } : {}),
  };
}

export function syntaxError(message: string, query: string, position?: number): ProxyError {
  return { code: "42601", message, query, ...(position === undefined ? {} : { position }) };
}

export function ddlxSyntaxError(detail: string, sql: string): ProxyError {
  return { code: "00000", message: "Invalid ELECTRIC statement", detail, query: `${sql};` };
}

export function ddlxUnsupported(tag: string, sql: string): ProxyError {
  return {
    code: "EX001",
    message: `${tag} is currently unsupported`,
    detail: UNSUPPORTED_DDLX_DETAIL,
    query: sql,
  };
}

export function doBlockRefused(sql: string): ProxyError {
  return { code: "EX000", message: "Unsupported DO...END block in migration", query: sql };
}

export function passwordFailed(user: string): ProxyError {
  return {
    code: "28P01",
    severity: "FATAL",
    message: `Password authentication failed for user "${user}"`,
  };
}

export function protocolViolation(message: string): ProxyError {
  return { code: "08P01", severity: "FATAL", message };
}

/** ErrorResponse fields, in the order Postgres sends them. */
export function errorFields(error: ProxyError): NoticeFields {
  const severity = error.severity ?? "ERROR";
  const fields: NoticeFields = { S: severity, V: severity, C: error.code, M: error.message };
  if (error.detail !== undefined) fields.D = error.detail;
  if (error.position !== undefined) fields.P = String(error.position);
  if (error.query !== undefined) fields.q = error.query;
  if (error.schema !== undefined) fields.s = error.schema;
  if (error.table !== undefined) fields.t = error.table;
  return fields;
}
