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

/** A run's command in a shell block, then what it ran on as a list (the start of a subsection). */
export function commandLines(command: string, meta: string[]): string[] {
  return ["```sh", command, "```", "", ...meta.map((m) => `- ${m}`)];
}

/** A section of docs/benchmarks.md made of an intro and one subsection per key. */
export interface Subsections {
  /** Markers: `<!-- ${name}:begin -->` around the section, `<!-- ${name}:${key}:begin -->` each. */
  name: string;
  intro: string[];
  /** Every key, in the order the subsections appear. */
  keys: string[];
}

/** Rewrites the subsection of `key` (`lines` go between its markers) and keeps the others. */
export function writeSubsection(
  section: Subsections,
  mine: { key: string; lines: string[] },
): void {
  const begin = `<!-- ${section.name}:begin -->`;
  const end = `<!-- ${section.name}:end -->`;
  const own = (key: string) => [
    `<!-- ${section.name}:${key}:begin -->`,
    `<!-- ${section.name}:${key}:end -->`,
  ];
  const existing = currentSection(begin, end);
  const subsections = section.keys.map((key) => {
    const [b, e] = own(key);
    if (key === mine.key) return [b, ...mine.lines, e].join("\n");
    const from = existing.indexOf(b);
    return from < 0 ? undefined : existing.slice(from, existing.indexOf(e) + e.length);
  }).filter((s): s is string => s !== undefined);
  writeSection(
    begin,
    end,
    [begin, "", ...section.intro, "", subsections.join("\n\n"), "", end].join("\n"),
  );
}

/** The lines of one runtime's subsection: heading, command, facts, `body`, then any notes. */
export function runtimeLines(
  runtime: string,
  run: { command: string; meta: string[]; body: string[]; notes: string[] },
): string[] {
  return [
    "",
    `### Service under ${runtime}`,
    "",
    ...commandLines(run.command, run.meta),
    "",
    ...run.body,
    ...(run.notes.length > 0 ? ["", ...run.notes.map((note) => `- ${note}`)] : []),
    "",
  ];
}
