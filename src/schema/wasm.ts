/**
 * Loads the real Postgres parser (npm `libpg-query`, libpg_query compiled to WASM) so that it
 * works the same under `deno run`, `bun` and inside a `bun build --compile` binary.
 *
 * Why not `import { parse } from "libpg-query"`: the package's entry starts the emscripten
 * factory at import time with no options, and the factory reads the .wasm from the package
 * folder on disk (`__dirname`, baked in as an absolute path by `bun build`). A compiled binary
 * run where that `node_modules` does not exist aborts the process. This file instead:
 * 1. finds the .wasm bytes: `import(<spec>, { with: { type: "file" } })` makes Bun embed the
 *    file into the compiled binary and hand back its `/$bunfs/...` path (and the on-disk path
 *    when not compiled); Deno rejects that attribute at run time, so we fall back to the path
 *    that Node-style resolution gives (`createRequire(...).resolve`). The `as string` keeps
 *    Deno's type checker from trying to load the binary as a module, while Bun's bundler still
 *    sees a literal specifier;
 * 2. starts the package's emscripten factory (`wasm/libpg-query.js`) with `instantiateWasm`,
 *    the one hook this build honours (it ignores `wasmBinary`), so it never touches the disk;
 * 3. calls the exported C functions directly (the same calls the package's wrapper makes).
 *
 * The instance is memoised per process (a lazily created promise): the parser has no state
 * between calls and loading it costs ~100 ms, so sharing it is safe and cheap.
 */
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
// @ts-ignore: the emscripten factory ships without type declarations.
import createPgQueryModule from "libpg-query/wasm/libpg-query.js";

const WASM_SPECIFIER = "libpg-query/wasm/libpg-query.wasm";

/** The subset of the emscripten module this file uses. */
interface PgQueryModule {
  _malloc(size: number): number;
  _free(ptr: number): void;
  _wasm_parse_query_raw(ptr: number): number;
  _wasm_free_parse_result(ptr: number): void;
  _wasm_scan(ptr: number): number;
  _wasm_free_string(ptr: number): void;
  lengthBytesUTF8(s: string): number;
  stringToUTF8(s: string, ptr: number, max: number): void;
  UTF8ToString(ptr: number): string;
  getValue(ptr: number, type: "i32"): number;
}

type Factory = (options: {
  instantiateWasm: (
    imports: WebAssembly.Imports,
    done: (instance: WebAssembly.Instance) => void,
  ) => Record<string, never>;
}) => Promise<PgQueryModule>;

export type RawParse =
  | { ok: true; json: string }
  | { ok: false; message: string; cursor: number };

export interface RawToken {
  /** Byte offsets into the UTF-8 encoding of the scanned text. */
  start: number;
  end: number;
  text: string;
  tokenName: string;
  keywordName: string;
}

export interface PgParser {
  parse(sql: string): RawParse;
  scan(sql: string): RawToken[];
}

let loading: Promise<PgParser> | undefined;

/** The parser, loaded on first use. */
export function loadPgParser(): Promise<PgParser> {
  loading ??= instantiate();
  return loading;
}

async function wasmBytes(): Promise<Uint8Array<ArrayBuffer>> {
  let path: string;
  try {
    // The literal must stay inline: Bun embeds only files it can see statically.
    const embedded = await import("libpg-query/wasm/libpg-query.wasm" as string, {
      with: { type: "file" },
    });
    path = embedded.default as string;
  } catch {
    path = createRequire(import.meta.url).resolve(WASM_SPECIFIER);
  }
  return new Uint8Array(await readFile(path));
}

async function instantiate(): Promise<PgParser> {
  const bytes = await wasmBytes();
  const factory = createPgQueryModule as unknown as Factory;
  const mod = await factory({
    instantiateWasm(imports, done) {
      WebAssembly.instantiate(bytes, imports).then((r) => done(r.instance));
      return {};
    },
  });
  return { parse: (sql) => parseWith(mod, sql), scan: (sql) => scanWith(mod, sql) };
}

function withCString<T>(mod: PgQueryModule, s: string, use: (ptr: number) => T): T {
  const len = mod.lengthBytesUTF8(s) + 1;
  const ptr = mod._malloc(len);
  try {
    mod.stringToUTF8(s, ptr, len);
    return use(ptr);
  } finally {
    mod._free(ptr);
  }
}

// PgQueryParseResult is { char* parse_tree; char* stderr_buffer; PgQueryError* error } and
// PgQueryError is { char* message; char* funcname; char* filename; int lineno; int cursorpos }.
function parseWith(mod: PgQueryModule, sql: string): RawParse {
  return withCString(mod, sql, (ptr) => {
    const result = mod._wasm_parse_query_raw(ptr);
    if (!result) return { ok: false, message: "parser out of memory", cursor: 0 };
    try {
      const tree = mod.getValue(result, "i32");
      const error = mod.getValue(result + 8, "i32");
      if (error) {
        const messagePtr = mod.getValue(error, "i32");
        return {
          ok: false,
          message: messagePtr ? mod.UTF8ToString(messagePtr) : "syntax error",
          cursor: mod.getValue(error + 16, "i32"),
        };
      }
      return { ok: true, json: tree ? mod.UTF8ToString(tree) : '{"stmts":[]}' };
    } finally {
      mod._wasm_free_parse_result(result);
    }
  });
}

/**
 * The scanner's JSON escapes quotes, backslashes and `\n`, but leaves other control characters
 * of a token's text raw, which JSON forbids. It writes no whitespace between its tokens, so
 * every control character is inside a string and can be escaped where it stands.
 */
function escapeControlCharacters(json: string): string {
  return json.replace(
    // deno-lint-ignore no-control-regex -- control characters are what is looked for
    /[\u0000-\u001f]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

function scanWith(mod: PgQueryModule, sql: string): RawToken[] {
  return withCString(mod, sql, (ptr) => {
    const result = mod._wasm_scan(ptr);
    try {
      const text = mod.UTF8ToString(result);
      if (!text.startsWith("{")) return [];
      return (JSON.parse(escapeControlCharacters(text)) as { tokens?: RawToken[] }).tokens ?? [];
    } finally {
      if (result) mod._wasm_free_string(result);
    }
  });
}
