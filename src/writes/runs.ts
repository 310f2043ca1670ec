/**
 * How a client transaction is applied (postgres-side.md §8.3): its changes in runs of
 * consecutive changes to distinct rows of one table. A run whose changes all carry every
 * column is merged set-based (merged_sql.ts); any other run goes through the two-insert
 * protocol that the shadow triggers merge. Shared by both write modes; pure.
 */
import type { ClientChange, ClientTransaction } from "./client_transaction.ts";
import { canMergeSetBased, type MergeMember } from "./merged_sql.ts";
import { parseClientTag, type ParsedTag } from "./tags.ts";

export type ChangeRun =
  /**
   * Changes for the set-based merge (merged_sql.ts: two statements, to run with effective role
   * `merged`).
   */
  | { kind: "merged"; members: MergeMember[] }
  /** Changes for the two-insert protocol, merged by the triggers (effective role `replica`). */
  | { kind: "pairs"; members: MergeMember[] };

export type ChangeRunsResult =
  | { ok: true; tag: ParsedTag; runs: ChangeRun[] }
  | { ok: false; error: { code: "INVALID_TAG"; message: string } };

export interface ChangeRunsOptions {
  /** false: every run goes through the triggers (to compare both paths in tests). */
  setBased?: boolean;
}

export function clientChangeRuns(
  tx: ClientTransaction,
  options: ChangeRunsOptions = {},
): ChangeRunsResult {
  const tag: ParsedTag = { ms: tx.commitTimestampMs, source: tx.clientId };
  const members: MergeMember[] = [];
  for (const change of tx.changes) {
    const observed: ParsedTag[] = [];
    for (const text of change.observedTags) {
      const parsed = parseClientTag(text);
      if (!parsed) {
        return {
          ok: false,
          error: { code: "INVALID_TAG", message: `Invalid tag "${text.slice(0, 80)}"` },
        };
      }
      observed.push(parsed);
    }
    members.push({ change, observed });
  }
  const runs = pairGroups(tx.changes).map(({ start, end }): ChangeRun => {
    const run = members.slice(start, end);
    return options.setBased !== false && run.every((m) => canMergeSetBased(m.change))
      ? { kind: "merged", members: run }
      : { kind: "pairs", members: run };
  });
  return { ok: true, tag, runs };
}

/**
 * Runs of consecutive changes to one table whose primary keys are surely distinct. A run
 * shares one pair of multi-row inserts, or one set-based merge. Distinct keys are what makes
 * both equal to applying the changes one by one: the triggers park every row of a run before
 * resolving the first (a second park of the same row would overwrite the first's values), and
 * an upsert cannot touch one row twice. Keys are compared in a normalised form that may only
 * make distinct keys look equal, never the reverse; a key type without such a form keeps its
 * changes in runs of their own.
 */
function pairGroups(changes: ClientChange[]): { start: number; end: number }[] {
  const groups: { start: number; end: number }[] = [];
  let seen = new Set<string>();
  for (const [i, change] of changes.entries()) {
    const key = comparableKey(change);
    const last = groups.at(-1);
    if (
      last && key !== undefined && !seen.has(key) && changes[last.start].table === change.table &&
      comparableKey(changes[last.start]) !== undefined
    ) {
      last.end = i + 1;
      seen.add(key);
      continue;
    }
    groups.push({ start: i, end: i + 1 });
    seen = new Set(key === undefined ? [] : [key]);
  }
  return groups;
}

const DIGITS = /^[+-]?\d+$/;
const ASCII = /^[\x20-\x7e]*$/;
const NUMBER = /^\s*[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\s*$/;

function comparableKey(change: ClientChange): string | undefined {
  const parts: string[] = [];
  for (const name of change.table.primaryKey) {
    const column = change.table.columns.find((c) => c.name === name);
    const value = change.record[name] ?? null;
    if (!column || column.type.array.length > 0 || value === null) return undefined;
    let part: string;
    switch (column.type.name) {
      case "int2":
      case "int4":
      case "int8":
        if (!DIGITS.test(value)) return undefined;
        part = BigInt(value).toString();
        break;
      case "float4":
      case "float8":
      case "numeric":
        if (!NUMBER.test(value)) return undefined;
        part = String(Number(value));
        break;
      case "uuid":
        part = value.toLowerCase().replace(/[^0-9a-f]/g, "");
        break;
      case "text":
      case "varchar":
      case "bpchar":
        // Folded, so that no collation (case- or accent-insensitive) can equate what differs here.
        part = (ASCII.test(value) ? value : value.normalize("NFKD").replace(/\p{M}/gu, ""))
          .toUpperCase().toLowerCase().trim();
        break;
      default:
        return undefined;
    }
    parts.push(part);
  }
  return JSON.stringify(parts);
}
