/**
 * Tags as Postgres prints them, turned into their client form (§8.1 of postgres-side.md).
 *
 * A tag is the composite `electric.tag` (timestamptz, text), printed as e.g.
 * `("2023-06-15 11:18:05.372+00",client-id)`; NULL source is an empty second field. `_tags`
 * is an array of those: `{"(\"2023-06-15 11:18:05.372+00\",)"}`. The client form is
 * `<source>@<unix ms>` with NULL source written as the origin (`postgres_1`).
 *
 * The parsers follow Postgres's array and record output rules (quoting, backslash and doubled
 * quote escapes, unquoted NULL) rather than splitting on commas, so a client id containing
 * commas, quotes or parentheses survives.
 */

export interface PgTag {
  /** Unix milliseconds (Postgres microseconds truncated). */
  timestampMs: number;
  /** NULL when Postgres wrote the value. */
  source: string | null;
}

/** Elements of a one-dimensional array literal (`{a,"b c",NULL}`); undefined if malformed. */
export function parseArrayLiteral(text: string): (string | null)[] | undefined {
  let s = text.trim();
  // An explicit lower bound prefix, e.g. `[0:1]={...}`.
  if (s.startsWith("[")) {
    const eq = s.indexOf("=");
    if (eq < 0) return undefined;
    s = s.slice(eq + 1);
  }
  if (!s.startsWith("{") || !s.endsWith("}")) return undefined;
  const body = s.slice(1, -1);
  const out: (string | null)[] = [];
  if (body.trim() === "") return out;
  let i = 0;
  while (i <= body.length) {
    while (body[i] === " ") i++;
    if (body[i] === '"') {
      let value = "";
      i++;
      while (i < body.length && body[i] !== '"') {
        if (body[i] === "\\") i++;
        value += body[i++] ?? "";
      }
      if (body[i] !== '"') return undefined;
      i++;
      while (body[i] === " ") i++;
      out.push(value);
    } else {
      let value = "";
      while (i < body.length && body[i] !== ",") {
        if (body[i] === "\\") i++;
        value += body[i++] ?? "";
      }
      value = value.trim();
      out.push(value.toUpperCase() === "NULL" ? null : value);
    }
    if (i >= body.length) break;
    if (body[i] !== ",") return undefined;
    i++;
  }
  return out;
}

/** Fields of a record literal (`(a,"b ""c""",)`); an empty unquoted field is NULL. */
export function parseRecordLiteral(text: string): (string | null)[] | undefined {
  const s = text.trim();
  if (!s.startsWith("(") || !s.endsWith(")")) return undefined;
  const body = s.slice(1, -1);
  const out: (string | null)[] = [];
  let i = 0;
  for (;;) {
    let value = "";
    let quoted = false;
    while (i < body.length && body[i] !== ",") {
      const c = body[i];
      if (c === '"') {
        quoted = true;
        i++;
        while (i < body.length) {
          if (body[i] === '"' && body[i + 1] === '"') {
            value += '"';
            i += 2;
          } else if (body[i] === '"') {
            break;
          } else {
            if (body[i] === "\\") i++;
            value += body[i++] ?? "";
          }
        }
        if (body[i] !== '"') return undefined;
        i++;
      } else {
        if (c === "\\") i++;
        value += body[i++] ?? "";
      }
    }
    out.push(!quoted && value === "" ? null : value);
    if (i >= body.length) break;
    i++; // ','
  }
  return out;
}

const TIMESTAMP =
  /^(\d{4,})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:([+-])(\d{2})(?::?(\d{2}))?(?::?(\d{2}))?|Z)?( BC)?$/;

/** A timestamptz in ISO output style (`2023-06-15 11:18:05.372+00`) → unix milliseconds. */
export function parseTimestamptz(text: string): number | undefined {
  const m = TIMESTAMP.exec(text.trim());
  if (!m || m[12]) return undefined;
  const [, y, mo, d, h, mi, s, frac = "", sign, oh = "0", om = "0", os = "0"] = m;
  const ms = Number(frac.padEnd(3, "0").slice(0, 3));
  const utc = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s), ms);
  const offset = (Number(oh) * 3600 + Number(om) * 60 + Number(os)) * 1000;
  const result = sign === "-" ? utc + offset : sign === "+" ? utc - offset : utc;
  return Number.isFinite(result) ? result : undefined;
}

/** One tag, `("<timestamptz>",<source>)`; undefined if malformed or NULL. */
export function parseTag(text: string): PgTag | undefined {
  const fields = parseRecordLiteral(text);
  if (!fields || fields.length !== 2 || fields[0] === null) return undefined;
  const timestampMs = parseTimestamptz(fields[0]);
  if (timestampMs === undefined) return undefined;
  return { timestampMs, source: fields[1] === "" ? null : fields[1] };
}

/** `_tags` text → tags; malformed or NULL elements are skipped. */
export function parseTagArray(text: string): PgTag[] {
  const elements = parseArrayLiteral(text) ?? [];
  const tags: PgTag[] = [];
  for (const element of elements) {
    const tag = element === null ? undefined : parseTag(element);
    if (tag) tags.push(tag);
  }
  return tags;
}

/** Client form: `<source>@<unix ms>`, NULL source written as `origin`. */
export function clientTag(tag: PgTag, origin: string): string {
  return `${tag.source ?? origin}@${tag.timestampMs}`;
}
