/**
 * Benchmarks write their results into docs/benchmarks.md between their own markers: the
 * section is replaced when it is there and appended when not, then formatted like every other
 * Markdown file of the project.
 */
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** The part of docs/benchmarks.md from `begin` up to (not including) `end`, or "". */
export function currentSection(begin: string, end: string): string {
  const doc = readFileSync(join(ROOT, "docs", "benchmarks.md"), "utf8");
  return doc.includes(begin) ? doc.slice(doc.indexOf(begin), doc.indexOf(end)) : "";
}

/** Puts `section` (which starts with `begin` and ends with `end`) into docs/benchmarks.md. */
export function writeSection(begin: string, end: string, section: string): void {
  const path = join(ROOT, "docs", "benchmarks.md");
  const doc = readFileSync(path, "utf8");
  const next = doc.includes(begin)
    ? doc.slice(0, doc.indexOf(begin)) + section + doc.slice(doc.indexOf(end) + end.length)
    : `${doc.trimEnd()}\n\n${section}\n`;
  writeFileSync(path, next);
  // Generated Markdown goes through the project formatter so `deno fmt --check` stays clean.
  spawnSync(join(ROOT, "node_modules", ".bin", "deno"), ["fmt", "--quiet", path], {
    stdio: "inherit",
  });
}
