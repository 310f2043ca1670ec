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

/** The markdown table, one row per option in declaration order, ending with a newline. */
export function renderConfigTable(): string {
  const rows = OPTIONS.map((option) => {
    const def = option.default === "" ? "—" : `\`${option.default}\``;
    const doc = option.secret ? `${option.doc} Treated as a secret.` : option.doc;
    return `| \`${option.env}\` | ${cell(def)} | ${cell(doc)} |`;
  });
  return ["| Variable | Default | Description |", "|---|---|---|", ...rows].join("\n") + "\n";
}

/** `readme` with the text between the markers replaced by the generated table. */
export function replaceConfigTable(readme: string): string {
  const start = readme.indexOf(START_MARKER);
  const end = readme.indexOf(END_MARKER);
  if (start < 0 || end < start) {
    throw new Error(`README.md must contain ${START_MARKER} followed by ${END_MARKER}`);
  }
  const before = readme.slice(0, start + START_MARKER.length);
  return `${before}\n${renderConfigTable()}${readme.slice(end)}`;
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
