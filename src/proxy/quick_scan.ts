/**
 * A lexical fast path in front of the Postgres parser, for the statements that make up almost
 * all traffic and can never concern the proxy: one statement whose first keyword is SELECT,
 * UPDATE, DELETE, SHOW, FETCH, … passes through whatever follows the keyword. Parsing such a
 * statement with the real grammar costs more than relaying it, so it is recognised by its
 * tokens instead: the scanner walks quotes, dollar quotes and comments to be sure there is no
 * second statement, and answers "unsure" (undefined) for anything unusual, such as backslash
 * escapes, unterminated quotes or several statements, so the full parser decides those.
 */

/** First keywords of statements that never create, alter or drop relations. */
const PLAIN_KEYWORDS = new Set([
  "select",
  "update",
  "delete",
  "with",
  "values",
  "table",
  "show",
  "set",
  "reset",
  "fetch",
  "move",
  "close",
  "declare",
  "discard",
  "explain",
  "listen",
  "notify",
  "unlisten",
  "lock",
  "savepoint",
  "release",
  "begin",
  "rollback",
  "abort",
  "prepare",
  "execute",
  "deallocate",
  "copy",
]);

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d || c === 0x0c;
}

function isIdentChar(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) ||
    c === 0x5f || c === 0x24 || c >= 0x80;
}

/** Skips whitespace and comments from `i`; -1 for an unterminated block comment. */
function skipBlank(text: string, i: number): number {
  for (;;) {
    const c = text.charCodeAt(i);
    if (isSpace(c)) i++;
    else if (c === 0x2d && text.charCodeAt(i + 1) === 0x2d) { // --
      const end = text.indexOf("\n", i);
      i = end < 0 ? text.length : end + 1;
    } else if (c === 0x2f && text.charCodeAt(i + 1) === 0x2a) { // /*
      let depth = 1;
      i += 2;
      while (depth > 0) {
        if (i >= text.length) return -1;
        if (text.startsWith("/*", i)) {
          depth++;
          i += 2;
        } else if (text.startsWith("*/", i)) {
          depth--;
          i += 2;
        } else i++;
      }
    } else return i;
  }
}

/**
 * The lower-cased first keyword when `text` is exactly one statement starting with a keyword
 * that never needs the proxy; undefined when unsure. `insertToo` also accepts INSERT (only for
 * simple queries: extended-protocol inserts may carry a migration framework's version).
 */
export function quickPlainKeyword(text: string, insertToo: boolean): string | undefined {
  let i = skipBlank(text, 0);
  if (i < 0) return undefined;
  const start = i;
  while (i < text.length && isIdentChar(text.charCodeAt(i))) i++;
  const keyword = text.slice(start, i).toLowerCase();
  if (!PLAIN_KEYWORDS.has(keyword) && !(insertToo && keyword === "insert")) return undefined;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c === 0x27) { // ' string: '' escapes; a backslash may be an escape, so give up
      for (i++;; i++) {
        if (i >= text.length) return undefined;
        const d = text.charCodeAt(i);
        if (d === 0x5c) return undefined;
        if (d === 0x27) {
          if (text.charCodeAt(i + 1) === 0x27) i++;
          else break;
        }
      }
      i++;
    } else if (c === 0x22) { // " identifier
      const end = text.indexOf('"', i + 1);
      if (end < 0) return undefined;
      i = end + 1;
    } else if (c === 0x24 && !isIdentChar(text.charCodeAt(i - 1))) { // $tag$ … $tag$, not $1
      let j = i + 1;
      while (j < text.length && isIdentChar(text.charCodeAt(j)) && text.charCodeAt(j) !== 0x24) j++;
      if (text.charCodeAt(j) !== 0x24) {
        i = j;
        continue;
      }
      const tag = text.slice(i, j + 1);
      if (/^\$[0-9]/.test(tag)) return undefined;
      const end = text.indexOf(tag, j + 1);
      if (end < 0) return undefined;
      i = end + tag.length;
    } else if (
      (c === 0x2d && text.charCodeAt(i + 1) === 0x2d) ||
      (c === 0x2f && text.charCodeAt(i + 1) === 0x2a)
    ) {
      i = skipBlank(text, i);
      if (i < 0) return undefined;
    } else if (c === 0x3b) { // ; only blanks and semicolons may follow
      for (i++; i < text.length; i++) {
        i = skipBlank(text, i);
        if (i < 0) return undefined;
        if (i >= text.length) break;
        if (text.charCodeAt(i) !== 0x3b) return undefined;
      }
    } else if (
      (c === 0x45 || c === 0x65 || c === 0x55 || c === 0x75) && text.charCodeAt(i + 1) === 0x27
    ) {
      return undefined; // E'…' and U&'…' strings have escapes of their own
    } else i++;
  }
  return keyword;
}

/**
 * True when `text` is exactly a plain `COMMIT` or `END` (optionally `WORK` or `TRANSACTION`,
 * a `;`, blanks and comments): the statement that ends most transactions, recognised without
 * the parser. Whether it may pass untouched is the engine's call (it may end a migration).
 * `COMMIT AND CHAIN`, `COMMIT PREPARED` and anything else are left to the parser.
 */
export function quickCommit(text: string): boolean {
  const words: string[] = [];
  let i = skipBlank(text, 0);
  while (i >= 0 && i < text.length) {
    const c = text.charCodeAt(i);
    if (c === 0x3b) { // ; then only blanks
      i = skipBlank(text, i + 1);
      return i === text.length && isCommitWords(words);
    }
    if (!isIdentChar(c)) return false;
    const start = i;
    while (i < text.length && isIdentChar(text.charCodeAt(i))) i++;
    words.push(text.slice(start, i).toLowerCase());
    if (words.length > 2) return false;
    i = skipBlank(text, i);
  }
  return i === text.length && isCommitWords(words);
}

function isCommitWords(words: readonly string[]): boolean {
  if (words[0] !== "commit" && words[0] !== "end") return false;
  return words.length === 1 || words[1] === "work" || words[1] === "transaction";
}
