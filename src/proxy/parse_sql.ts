/**
 * Cuts the SQL text of a `Query` or `Parse` into statements with the real Postgres grammar
 * (proxy-http-auth-config.md §3.5), recognising DDLX statements that the grammar rejects.
 *
 * When the parser fails exactly at the word `ELECTRIC`, the text is split at its top-level
 * `;` tokens (found with the Postgres lexer, so quotes, dollar quotes and comments are
 * respected) and each piece is parsed on its own; a piece that fails at `ELECTRIC` is read
 * with the DDLX grammar. Any other parse failure is a syntax error of the whole text, with the
 * position Postgres would report (1-based, in characters of the whole text).
 */
import { parseStatements, scanTokens } from "../schema/mod.ts";
import { type DdlxCommand, parseDdlx } from "./ddlx.ts";
import { quickCommit, quickPlainKeyword } from "./quick_scan.ts";

export type Statement =
  /** `ast` is the libpg_query node of one statement, e.g. `{ AlterTableStmt: {...} }`. */
  | { kind: "sql"; sql: string; ast: Record<string, unknown> }
  | { kind: "ddlx"; sql: string; command: DdlxCommand }
  | { kind: "ddlx_error"; sql: string; detail: string };

export type SqlParse =
  /**
   * `plain`: recognised by the quick scan (`quick_scan.ts`) as one statement the proxy never
   * needs to look into; `statements` is then empty.
   */
  | { ok: true; statements: Statement[]; plain?: string }
  /**
   * A syntax error. `serverCanAnswer`: the text fails outside any DDLX statement, so Postgres
   * itself can report it (the proxy forwards such text instead of answering for it).
   */
  | { ok: false; message: string; position?: number; serverCanAnswer: boolean };

/**
 * Parses the SQL of a `Query` (`simple`) or a `Parse`. Resolves synchronously-fast for plain
 * statements; callers may test `quickParse` first to skip the await. `quick: false` parses
 * plain statements too, for callers that need every syntax tree.
 */
export function quickParse(text: string, simple: boolean): SqlParse | undefined {
  const keyword = quickPlainKeyword(text, simple);
  if (keyword !== undefined) return { ok: true, statements: [], plain: keyword };
  // COMMIT/END ends most write transactions: its syntax tree is known without the parser, and
  // the engine decides from it whether the commit needs the proxy (it ends a migration).
  if (quickCommit(text)) {
    return { ok: true, statements: [{ kind: "sql", sql: text.trim(), ast: COMMIT_AST }] };
  }
  return undefined;
}

/** What the parser makes of `COMMIT` and `END` (their options are the parser's defaults). */
const COMMIT_AST: Record<string, unknown> = Object.freeze({
  TransactionStmt: Object.freeze({ kind: "TRANS_STMT_COMMIT" }),
});

export async function parseSql(
  text: string,
  simple = true,
  options: { quick?: boolean } = {},
): Promise<SqlParse> {
  const quick = options.quick === false ? undefined : quickParse(text, simple);
  if (quick) return quick;
  const whole = await parseStatements(text);
  if (whole.ok) return { ok: true, statements: whole.statements.map(sqlStatement) };
  if (!failsAtElectric(text, whole.error.position)) {
    return {
      ok: false,
      message: whole.error.message,
      position: whole.error.position,
      serverCanAnswer: true,
    };
  }
  const statements: Statement[] = [];
  for (const piece of await topLevelPieces(text)) {
    const parsed = await parseStatements(piece.text);
    if (parsed.ok) {
      statements.push(...parsed.statements.map(sqlStatement));
      continue;
    }
    if (failsAtElectric(piece.text, parsed.error.position)) {
      const sql = piece.text.trim();
      const ddlx = parseDdlx(sql);
      statements.push(
        ddlx.ok
          ? { kind: "ddlx", sql, command: ddlx.command }
          : { kind: "ddlx_error", sql, detail: ddlx.detail },
      );
      continue;
    }
    const position = parsed.error.position === undefined
      ? undefined
      : piece.charOffset + parsed.error.position;
    return { ok: false, message: parsed.error.message, position, serverCanAnswer: false };
  }
  return { ok: true, statements };
}

function sqlStatement(s: { sql: string; ast: unknown }): Statement {
  return { kind: "sql", sql: s.sql, ast: s.ast as Record<string, unknown> };
}

/** Whether the 1-based character `position` starts the word `ELECTRIC` (any case). */
function failsAtElectric(text: string, position: number | undefined): boolean {
  if (position === undefined) return false;
  const chars = [...text];
  const at = position - 1;
  const word = chars.slice(at, at + 8).join("");
  const after = chars[at + 8];
  return word.toLowerCase() === "electric" && (after === undefined || !/[\w$]/.test(after));
}

interface Piece {
  text: string;
  /** Characters of the whole text before this piece. */
  charOffset: number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

async function topLevelPieces(text: string): Promise<Piece[]> {
  const bytes = encoder.encode(text);
  const tokens = await scanTokens(text);
  const cuts = tokens.filter((t) => t.text === ";").map((t) => t.start);
  const pieces: Piece[] = [];
  let start = 0;
  for (const end of [...cuts, bytes.length]) {
    const pieceText = decoder.decode(bytes.subarray(start, end));
    if (pieceText.trim() !== "") {
      pieces.push({
        text: pieceText,
        charOffset: [...decoder.decode(bytes.subarray(0, start))].length,
      });
    }
    start = end + 1;
  }
  return pieces;
}
