/**
 * Prints the README configuration table, generated from `OPTIONS` in src/config so the docs
 * cannot drift from the code. With `--write`, replaces the region between
 * `<!-- config-table:start -->` and `<!-- config-table:end -->` in README.md instead.
 *
 *   deno run -A scripts/config_table.ts [--write]
 *   bun scripts/config_table.ts [--write]
 *
 * Uses node:fs/node:process so the same file runs under Deno and Bun.
 */
import { readFileSync, writeFileSync } from "node:fs";
import process from "node:process";
import { OPTIONS } from "../src/config/mod.ts";

export const START_MARKER = "<!-- config-table:start -->";
export const END_MARKER = "<!-- config-table:end -->";

const README = new URL("../README.md", import.meta.url);

// A literal "|" would split the cell.
const cell = (text: string): string => text.replaceAll("|", "\\|");

/**
 * The markdown table, one row per option in declaration order, ending with a newline. Columns
 * are padded the way `deno fmt` lays tables out, so formatting the README leaves it unchanged.
 */
export function renderConfigTable(): string {
  const rows = OPTIONS.map((option) => [
    `\`${option.env}\``,
    option.default === "" ? "—" : `\`${option.default}\``,
    cell(option.secret ? `${option.doc} Treated as a secret.` : option.doc),
  ]);
  const header = ["Variable", "Default", "Description"];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(" | ")} |`;
  const rule = line(widths.map((w) => "-".repeat(w)));
  return [line(header), rule, ...rows.map(line)].join("\n") + "\n";
}

/** `readme` with the text between the markers replaced by the generated table. */
export function replaceConfigTable(readme: string): string {
  const start = readme.indexOf(START_MARKER);
  const end = readme.indexOf(END_MARKER);
  if (start < 0 || end < start) {
    throw new Error(`README.md must contain ${START_MARKER} followed by ${END_MARKER}`);
  }
  const before = readme.slice(0, start + START_MARKER.length);
  // Blank lines around the table, as `deno fmt` wants them.
  return `${before}\n\n${renderConfigTable()}\n${readme.slice(end)}`;
}

if (import.meta.main) {
  if (process.argv.includes("--write")) {
    const readme = readFileSync(README, "utf8");
    const updated = replaceConfigTable(readme);
    if (updated !== readme) writeFileSync(README, updated);
  } else {
    process.stdout.write(renderConfigTable());
  }
}
