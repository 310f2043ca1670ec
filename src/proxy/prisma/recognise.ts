/**
 * Which introspection query a statement is (proxy-http-auth-config.md §3.10), by its output
 * column keys: the alias if given, an unaliased column reference as its dotted name
 * (`oid.namespace`), any other unaliased expression as `""`. The version query is told by
 * its text instead. Prisma's introspection SQL changes between releases while these keys
 * stay, so they identify a query better than its text. Pure.
 */
import type { Statement } from "../parse_sql.ts";
import { KNOWN_QUERIES, type KnownQuery, VERSION_QUERY } from "./queries.ts";

type Node = Record<string, unknown>;

/** The output keys of one `SELECT` statement's AST, or undefined for anything else. */
export function outputKeys(ast: Node): string[] | undefined {
  const select = ast.SelectStmt as { targetList?: Node[] } | undefined;
  if (!select?.targetList) return undefined;
  return select.targetList.map((item) => {
    const target = item.ResTarget as { name?: string; val?: Node } | undefined;
    if (target?.name) return target.name;
    const ref = target?.val?.ColumnRef as { fields?: Node[] } | undefined;
    if (!ref?.fields) return "";
    return ref.fields.map((f) => {
      const s = f.String as { sval?: string } | undefined;
      return s ? s.sval ?? "" : "*";
    }).join(".");
  });
}

/** Whether the text is the version query (`SELECT version()`, any case, before anything else). */
export function isVersionQuery(sql: string): boolean {
  return /^select\s+version\(\s*\)/i.test(sql.trimStart());
}

const byKeys = new Map(KNOWN_QUERIES.map((q) => [q.keys.join("\u0000"), q]));

/** The known query with exactly these output keys, in this order. */
export function queryForKeys(keys: string[]): KnownQuery | undefined {
  return byKeys.get(keys.join("\u0000"));
}

/** The known query a parsed statement list is, if it is one `SELECT` with known keys. */
export function recognise(
  sql: string,
  statements: Statement[] | undefined,
): KnownQuery | undefined {
  if (isVersionQuery(sql)) return VERSION_QUERY;
  if (statements?.length !== 1) return undefined;
  const statement = statements[0];
  if (statement.kind !== "sql") return undefined;
  const keys = outputKeys(statement.ast);
  return keys ? queryForKeys(keys) : undefined;
}
