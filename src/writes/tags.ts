/**
 * Tags from client form (`source@ms`) to Postgres form (the composite `electric.tag` as text:
 * `("2023-06-15T11:18:05.372Z","client-id")`). The origin `postgres_1` stands for a NULL
 * source, which is how Postgres-made tags are stored.
 */

const POSTGRES_ORIGIN = "postgres_1";

export interface ParsedTag {
  ms: bigint;
  source: string | null;
}

/** Splits on the LAST `@` (client ids never contain one; the timestamp is all digits). */
export function parseClientTag(tag: string): ParsedTag | undefined {
  const at = tag.lastIndexOf("@");
  if (at <= 0) return undefined;
  const ms = tag.slice(at + 1);
  if (!/^\d{1,16}$/.test(ms)) return undefined;
  const source = tag.slice(0, at);
  return { ms: BigInt(ms), source: source === POSTGRES_ORIGIN ? null : source };
}

/** The composite literal text of a tag (to be quoted as a string literal by the caller). */
export function tagText(tag: ParsedTag): string {
  const timestamp = new Date(Number(tag.ms)).toISOString();
  return `("${timestamp}",${tag.source === null ? "" : `"${escapeComposite(tag.source)}"`})`;
}

/** An array literal of tags, e.g. `{"(\"2024-…\",\"c1\")"}`. */
export function tagArrayText(tags: readonly ParsedTag[]): string {
  return `{${tags.map((tag) => `"${escapeArray(tagText(tag))}"`).join(",")}}`;
}

function escapeComposite(text: string): string {
  return text.replaceAll("\\", "\\\\").replaceAll('"', '\\"');
}

function escapeArray(text: string): string {
  return text.replaceAll("\\", "\\\\").replaceAll('"', '\\"');
}
