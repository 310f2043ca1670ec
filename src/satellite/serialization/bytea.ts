/**
 * `bytea` in Postgres text form and as raw bytes. Satellite carries raw bytes (§5.2), Postgres
 * prints and accepts the `\x` hex form (bytea_output=hex); the older escape form is still read
 * so a session that forgot the setting does not corrupt data.
 */

const HEX = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, "0"));

/** `\x` followed by two lower-case hex digits per byte. */
export function byteaToHex(bytes: Uint8Array): string {
  let out = "\\x";
  for (const b of bytes) out += HEX[b];
  return out;
}

/** Postgres bytea text output as bytes; undefined when it is neither hex nor escape form. */
export function byteaFromText(text: string): Uint8Array | undefined {
  return text.startsWith("\\x") ? fromHex(text.slice(2)) : fromEscape(text);
}

function fromHex(digits: string): Uint8Array | undefined {
  if (digits.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(digits)) return undefined;
  const out = new Uint8Array(digits.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(digits.slice(2 * i, 2 * i + 2), 16);
  return out;
}

// Escape form: `\\` is a backslash, `\ooo` an octal byte, anything else a byte of its own
// (Postgres only prints printable ASCII unescaped, so a code point above 0x7f is malformed).
function fromEscape(text: string): Uint8Array | undefined {
  const out: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c > 0x7f) return undefined;
    if (c !== 0x5c) {
      out.push(c);
    } else if (text[i + 1] === "\\") {
      out.push(0x5c);
      i++;
    } else if (/^[0-3][0-7]{2}$/.test(text.slice(i + 1, i + 4))) {
      out.push(parseInt(text.slice(i + 1, i + 4), 8));
      i += 3;
    } else {
      return undefined;
    }
  }
  return Uint8Array.from(out);
}
