/**
 * LIKE and ILIKE as Postgres runs them under COLLATE "C" in a UTF-8 database: `%` matches any
 * run of characters, `_` exactly one character (a code point, not a byte or UTF-16 unit), the
 * escape character (backslash unless ESCAPE says otherwise, none for an empty ESCAPE) makes the
 * next character literal. ILIKE lower-cases both sides first, and under "C" only ASCII letters
 * have a lower case.
 */

export class LikeError extends Error {
  readonly code = "INVALID_ESCAPE";
}

const cache = new Map<string, RegExp>();
const CACHE_LIMIT = 500;

export function asciiLower(text: string): string {
  return text.replace(/[A-Z]+/g, (s) => s.toLowerCase());
}

export function asciiUpper(text: string): string {
  return text.replace(/[a-z]+/g, (s) => s.toUpperCase());
}

/** `escape` undefined means the default backslash; "" means no escape character. */
export function likeMatch(
  text: string,
  pattern: string,
  options: { escape?: string; caseInsensitive: boolean },
): boolean {
  const escape = options.escape ?? "\\";
  if ([...escape].length > 1) {
    throw new LikeError("Invalid escape string: must be empty or one character");
  }
  const key = `${options.caseInsensitive ? "i" : "s"}${escape}\u0000${pattern}`;
  let regex = cache.get(key);
  if (!regex) {
    regex = compile(pattern, escape, options.caseInsensitive);
    if (cache.size >= CACHE_LIMIT) cache.clear();
    cache.set(key, regex);
  }
  return regex.test(options.caseInsensitive ? asciiLower(text) : text);
}

// Under ILIKE Postgres lowers the pattern after resolving ESCAPE, so the escape character is
// matched as written and only the literal characters are lowered.
function compile(pattern: string, esc: string, caseInsensitive: boolean): RegExp {
  const literal = (c: string) => quote(caseInsensitive ? asciiLower(c) : c);
  let source = "";
  const chars = [...pattern];
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i];
    if (esc !== "" && c === esc) {
      i++;
      if (i >= chars.length) {
        throw new LikeError("LIKE pattern must not end with escape character");
      }
      source += literal(chars[i]);
    } else if (c === "%") source += "[^]*";
    else if (c === "_") source += "[^]";
    else source += literal(c);
  }
  return new RegExp(`^${source}$`, "u");
}

function quote(c: string): string {
  return /[\\^$.*+?()[\]{}|/]/.test(c) ? `\\${c}` : c;
}
