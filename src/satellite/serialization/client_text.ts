/**
 * The one server → client value conversion (satellite-protocol.md §5.2), before UTF-8
 * encoding: Postgres text output in, what the client reads out. A string for every text type,
 * raw bytes for `bytea`.
 *
 * It returns text rather than bytes so that op_bytes.ts can write values straight into a frame:
 * on Deno every `Uint8Array` costs an off-heap allocation (about 0.3 µs), more than the rest of
 * a row's encoding. `clientValue` in encode.ts is this function followed by UTF-8 encoding
 * (op_bytes_test.ts holds the two to the same bytes).
 */
import type { ColumnModel } from "../../schema/mod.ts";
import { byteaFromText } from "./bytea.ts";

/** One non-NULL value as the client reads it: text to UTF-8 encode, or raw `bytea` bytes. */
export function clientText(column: ColumnModel, text: string): string | Uint8Array {
  switch (column.type.array.length > 0 ? "" : column.type.name) {
    case "bytea":
      // Text that is not bytea output cannot come from Postgres; sending it unchanged keeps
      // the row deliverable instead of failing the whole transaction.
      return byteaFromText(text) ?? text;
    case "timestamptz":
      return zuluOffset(text);
    case "bool":
      return text === "true" ? "t" : text === "false" ? "f" : text;
    case "uuid":
      return text.toLowerCase();
    default:
      return text;
  }
}

/**
 * `2023-08-14 10:01:28.848242+00` -> `2023-08-14 10:01:28.848242Z` (also `+00:00`, `+0000`
 * and `-00…`). By hand rather than with a regular expression: it runs for every timestamptz
 * value sent.
 */
function zuluOffset(text: string): string {
  const n = text.length;
  let cut = -1;
  if (text.endsWith("00:00")) cut = n - 6; // ±00:00
  else if (text.endsWith("0000")) cut = n - 5; // ±0000
  else if (text.endsWith("00")) cut = n - 3; // ±00
  if (cut < 1) return text;
  const sign = text.charCodeAt(cut);
  if (sign !== 0x2b && sign !== 0x2d) return text; // + or -
  const before = text.charCodeAt(cut - 1);
  if (before < 0x30 || before > 0x39) return text; // a digit ends the time
  return `${text.slice(0, cut)}Z`;
}
