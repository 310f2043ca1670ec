/**
 * What a benchmark run says about itself: the Postgres and tool versions its doc section
 * quotes, and the last line of its output (`<name>-result <json>`) that the smoke tests read.
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { connectSql, ROOT } from "./sync/env.ts";

/** `version()` of the server at `url`, without the build platform. */
export async function versionOfPostgres(url: string): Promise<string> {
  const sql = connectSql(url);
  const version = String((await sql`SELECT version() AS v`)[0].v).replace(/ on .*/, "");
  await sql.end();
  return version;
}

/** The first line `command args` prints, or "?". */
export function versionOf(command: string, args: string[]): string {
  return spawnSync(command, args, { encoding: "utf8" }).stdout?.split("\n")[0].trim() ?? "?";
}

/** "Bun x, Deno y": the project's own runtimes (node_modules/.bin). */
export function runtimeVersions(): string {
  const bin = join(ROOT, "node_modules", ".bin");
  return `Bun ${versionOf(join(bin, "bun"), ["--version"])}, Deno ${
    versionOf(join(bin, "deno"), ["--version"]).split(" ")[1]
  }`;
}

/** Prints `<name>-result <json>`, infinities and NaN as strings (JSON has no numbers for them). */
export function printResult(name: string, result: unknown): void {
  console.log(
    `${name}-result ${
      JSON.stringify(
        result,
        (_k, v) => typeof v === "number" && !Number.isFinite(v) ? String(v) : v,
      )
    }`,
  );
}
