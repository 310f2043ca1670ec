/**
 * Checks the dependency arrows between the folders of `src/` (see style.md):
 * - leaves (config, runtime, gen, pgwire, lifecycle, embedded) import nothing internal;
 * - edge modules (http, satellite, publisher, proxy) do not import one another;
 * - a folder imports another folder only through its `mod.ts`;
 * - the folder graph has no cycles;
 * - inside a folder, the module graph has no cycles either (type-only imports count: a cycle of
 *   types is still two modules that cannot be understood one without the other).
 * Run: deno run -A scripts/check_arrows.ts (or bun scripts/check_arrows.ts). Exits 1 on a violation.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, normalize, relative } from "node:path";
import { fileURLToPath } from "node:url";

const SRC = fileURLToPath(new URL("../src/", import.meta.url));
const LEAVES = new Set(["config", "runtime", "gen", "pgwire", "lifecycle", "embedded"]);
const EDGES = new Set(["http", "satellite", "publisher", "proxy"]);

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return files(path);
    return path.endsWith(".ts") && !path.endsWith("_test.ts") ? [path] : [];
  });
}

/** The top-level folder under src/ a path belongs to; files directly in src/ are "root". */
function folderOf(path: string): string {
  const parts = relative(SRC, path).split("/");
  return parts.length > 1 ? parts[0] : "root";
}

const violations: string[] = [];
const graph = new Map<string, Set<string>>();
/** Module → modules of the same folder it imports. */
const modules = new Map<string, Set<string>>();
const importPattern =
  /(?:import|export)\s[^;]*?from\s+["'](\.[^"']+)["']|import\(\s*["'](\.[^"']+)["']\s*\)/g;

for (const file of files(SRC)) {
  const from = folderOf(file);
  const text = readFileSync(file, "utf8");
  for (const match of text.matchAll(importPattern)) {
    const target = normalize(join(dirname(file), match[1] ?? match[2]));
    if (!target.startsWith(SRC)) continue;
    const to = folderOf(target);
    if (to === from) {
      if (target === file) continue; // a comment quoting its own name, not an import
      const module = relative(SRC, file);
      if (!modules.has(module)) modules.set(module, new Set());
      modules.get(module)!.add(relative(SRC, target));
      continue;
    }
    if (from === "root") continue;
    const where = `${relative(SRC, file)} -> ${relative(SRC, target)}`;
    if (to === "root") violations.push(`${where}: folders must not import top-level src files`);
    if (LEAVES.has(from)) {
      violations.push(`${where}: ${from} is a leaf and imports nothing internal`);
    }
    if (EDGES.has(from) && EDGES.has(to)) {
      violations.push(`${where}: edge modules do not import each other`);
    }
    if (!target.endsWith(`${to}/mod.ts`) && !target.includes(`/${to}/mod.ts`)) {
      // Type-only imports are still arrows; everything goes through the folder's face.
      violations.push(`${where}: import ${to}/mod.ts instead`);
    }
    if (!graph.has(from)) graph.set(from, new Set());
    graph.get(from)!.add(to);
  }
}

function findCycle(graph: Map<string, Set<string>>): string[] | undefined {
  const state = new Map<string, "visiting" | "done">();
  const stack: string[] = [];
  const visit = (node: string): string[] | undefined => {
    if (state.get(node) === "done") return undefined;
    if (state.get(node) === "visiting") return [...stack.slice(stack.indexOf(node)), node];
    state.set(node, "visiting");
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      const cycle = visit(next);
      if (cycle) return cycle;
    }
    stack.pop();
    state.set(node, "done");
    return undefined;
  };
  for (const node of graph.keys()) {
    const cycle = visit(node);
    if (cycle) return cycle;
  }
  return undefined;
}

const cycle = findCycle(graph);
if (cycle) violations.push(`folder cycle: ${cycle.join(" -> ")}`);
const moduleCycle = findCycle(modules);
if (moduleCycle) violations.push(`module cycle: ${moduleCycle.join(" -> ")}`);

if (violations.length > 0) {
  console.log(`Dependency arrows: ${violations.length} violation(s)`);
  for (const violation of violations) console.log(`  ${violation}`);
  process.exit(1);
}
console.log(`Dependency arrows: ok (${graph.size} folders with internal imports)`);
