/**
 * The command line every benchmark script reads: `--name value` options, `--flag`s, `--small`
 * and `--runtime <bun|deno|binary>` (the service's), and how the script itself was run (for
 * the command line a doc section quotes).
 */
import type { Runtime } from "./sync/env.ts";

export interface BenchArgs {
  argv: string[];
  /** `deno run -A` or `bun`: what ran this script. */
  runner: string;
  arg(name: string, fallback: string): string;
  flag(name: string): boolean;
  small: boolean;
  runtime: Runtime;
}

export function benchArgs(argv = process.argv.slice(2)): BenchArgs {
  const arg = (name: string, fallback: string) => {
    const at = argv.indexOf(`--${name}`);
    return at >= 0 && argv[at + 1] ? argv[at + 1] : fallback;
  };
  const runtime = arg("runtime", "bun") as Runtime;
  if (!["bun", "deno", "binary"].includes(runtime)) {
    throw new Error(`--runtime must be bun, deno or binary, not "${runtime}"`);
  }
  return {
    argv,
    runner: "Deno" in globalThis ? "deno run -A" : "bun",
    arg,
    flag: (name) => argv.includes(`--${name}`),
    small: argv.includes("--small"),
    runtime,
  };
}
