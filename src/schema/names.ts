/**
 * The names Postgres gives to unnamed constraints and indexes, so the model (and the SQLite
 * translation) carry the names the database really has. Follows the behaviour of Postgres's
 * `makeObjectName`/`ChooseRelationName`: identifiers are limited to NAMEDATALEN-1 = 63 bytes,
 * the longer of the two name parts is shortened first, cuts never split a UTF-8 character, and
 * a taken name gets a number appended to its label (`t_a_fkey1`).
 */

const MAX_IDENTIFIER_BYTES = 63;
const encoder = new TextEncoder();

function byteLength(s: string): number {
  return encoder.encode(s).length;
}

/** The longest prefix of `s` that fits in `bytes` bytes without splitting a character. */
function clip(s: string, bytes: number): string {
  let out = "";
  let used = 0;
  for (const ch of s) {
    const n = byteLength(ch);
    if (used + n > bytes) break;
    out += ch;
    used += n;
  }
  return out;
}

/** `<name1>_<name2>_<label>` shortened to fit an identifier. */
export function makeObjectName(name1: string, name2: string | undefined, label: string): string {
  const overhead = (name2 === undefined ? 0 : 1) + (label ? byteLength(label) + 1 : 0);
  const available = MAX_IDENTIFIER_BYTES - overhead;
  let n1 = byteLength(name1);
  let n2 = name2 === undefined ? 0 : byteLength(name2);
  while (n1 + n2 > available) {
    if (n1 > n2) n1--;
    else n2--;
  }
  let out = clip(name1, n1);
  if (name2 !== undefined) out += `_${clip(name2, n2)}`;
  return label ? `${out}_${label}` : out;
}

/** A name from the parts that is not in `taken`, numbering the label as Postgres does. */
export function chooseName(
  name1: string,
  name2: string | undefined,
  label: string,
  taken: ReadonlySet<string>,
): string {
  let candidate = makeObjectName(name1, name2, label);
  for (let pass = 1; taken.has(candidate); pass++) {
    candidate = makeObjectName(name1, name2, `${label}${pass}`);
  }
  return candidate;
}

/** Column names joined by `_`, stopping once an identifier's worth has been collected. */
export function joinColumnNames(columns: string[]): string {
  let out = "";
  for (const c of columns) {
    out = out === "" ? c : `${out}_${c}`;
    if (byteLength(out) > MAX_IDENTIFIER_BYTES) break;
  }
  return out;
}

export function primaryKeyName(table: string): string {
  return makeObjectName(table, undefined, "pkey");
}

export function foreignKeyName(table: string, columns: string[], taken: ReadonlySet<string>) {
  return chooseName(table, joinColumnNames(columns), "fkey", taken);
}

export function indexName(table: string, columns: string[], taken: ReadonlySet<string>) {
  return chooseName(table, joinColumnNames(columns), "idx", taken);
}
