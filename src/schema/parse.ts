/**
 * Splits SQL text into statements with the real Postgres grammar. Each statement keeps its
 * own source text, because captured DDL is passed on verbatim to Postgres-dialect clients and
 * parts of it (index predicates, index expressions) are copied into translations.
 */
import type { Node, RawStmt } from "@pgsql/types";
import { loadPgParser, type RawToken } from "./wasm.ts";

export interface ParsedStatement {
  /** The statement's own text, without surrounding whitespace or the terminating `;`. */
  sql: string;
  /** The libpg_query node, e.g. `{ CreateStmt: {...} }`. */
  ast: unknown;
}

export interface SyntaxError {
  code: "SYNTAX_ERROR";
  message: string;
  /** 1-based character position in the input, as in a Postgres ErrorResponse `P` field. */
  position?: number;
}

export type ParseOutcome =
  | { ok: true; statements: ParsedStatement[] }
  | { ok: false; error: SyntaxError };

export async function parseStatements(sql: string): Promise<ParseOutcome> {
  const parser = await loadPgParser();
  const raw = parser.parse(sql);
  if (!raw.ok) {
    const error: SyntaxError = { code: "SYNTAX_ERROR", message: raw.message };
    if (raw.cursor > 0) error.position = raw.cursor;
    return { ok: false, error };
  }
  const tree = JSON.parse(raw.json) as { stmts?: RawStmt[] };
  const bytes = new TextEncoder().encode(sql);
  const statements = (tree.stmts ?? []).map((s) => ({
    sql: statementText(bytes, s),
    ast: s.stmt as Node,
  }));
  return { ok: true, statements };
}

/** Tokens of one statement's text; offsets are UTF-8 byte offsets into that text. */
export async function scanTokens(sql: string): Promise<RawToken[]> {
  return (await loadPgParser()).scan(sql);
}

// stmt_location/stmt_len are byte offsets; a missing length means "to the end of the input".
function statementText(bytes: Uint8Array, stmt: RawStmt): string {
  const start = stmt.stmt_location ?? 0;
  const end = stmt.stmt_len ? start + stmt.stmt_len : bytes.length;
  return trimStatement(new TextDecoder().decode(bytes.subarray(start, end)));
}

function trimStatement(text: string): string {
  return text.trim().replace(/;\s*$/, "").trimEnd();
}
