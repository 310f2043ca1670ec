/**
 * DDLX: Electric's extensions to SQL (proxy-http-auth-config.md §3.6), parsed from one
 * statement's text and rendered as the `CALL electric.…` statements the proxy sends upstream.
 *
 *   ALTER TABLE <t> ENABLE|DISABLE ELECTRIC        ELECTRIC ENABLE|DISABLE <t>
 *   ELECTRIC GRANT <privs>[(<cols>)] ON <t> TO <role> [USING <path>] [CHECK (<expr>)]
 *   ELECTRIC REVOKE <privs>[(<cols>)] ON <t> FROM <role>
 *   ELECTRIC ASSIGN <role> TO <tbl>.<col> [IF (<expr>)]
 *   ELECTRIC UNASSIGN <role> FROM <tbl>.<col>
 *   ELECTRIC SQLITE <string>
 *
 * Roles: `'name'`, `'scope:name'`, `(scope, 'name')`, a column reference (ASSIGN/UNASSIGN
 * only), or the built-ins `ANYONE` and `AUTHENTICATED` written unquoted (GRANT/REVOKE only;
 * rendered as the role names `'ANYONE'`, `'AUTHENTICATED'`).
 *
 * A small hand-written lexer and recursive-descent parser: the statements are few and their
 * grammar is not Postgres's, so the shared SQL parser cannot read them. Errors are values
 * whose `detail` names the token the parser stopped before (`syntax error before: <<"JUNK">>`)
 * or, for a statement that parses but cannot be built (`TO ':'`, an unquoted role in GRANT,
 * ASSIGN of a built-in role), what is wrong with it; the proxy answers both as a DDLX syntax
 * error, never by failing.
 */

export interface QualifiedName {
  schema: string;
  name: string;
}

/** A role: a literal name, optionally scoped by a table, or read from a column. */
export type RoleSpec =
  | { kind: "name"; name: string; scope?: QualifiedName }
  | { kind: "column"; table?: string; column: string; scope?: QualifiedName };

export type DdlxCommand =
  | { kind: "enable"; table: QualifiedName }
  | { kind: "disable"; table: QualifiedName }
  | {
    kind: "grant";
    privileges: string[];
    columns?: string[];
    table: QualifiedName;
    role: RoleSpec;
    using?: string;
    check?: string;
  }
  | {
    kind: "revoke";
    privileges: string[];
    columns?: string[];
    table: QualifiedName;
    role: RoleSpec;
  }
  | { kind: "assign"; role: RoleSpec; table: QualifiedName; column: string; condition?: string }
  | { kind: "unassign"; role: RoleSpec; table: QualifiedName; column: string }
  | { kind: "sqlite"; sql: string };

export type DdlxParse =
  | { ok: true; command: DdlxCommand }
  | { ok: false; detail: string };

/** The command tag (and the name in "… is currently unsupported") of each command. */
export function ddlxTag(command: DdlxCommand): string {
  return `ELECTRIC ${command.kind.toUpperCase()}`;
}

/** The `ELECTRIC_FEATURES` flag that gates each command; `enable` is always on. */
export function ddlxFeature(command: DdlxCommand): string | undefined {
  switch (command.kind) {
    case "enable":
      return undefined;
    case "disable":
    case "sqlite":
      return "__default__";
    default:
      return `proxy_ddlx_${command.kind}`;
  }
}

// ---------------------------------------------------------------------------------------
// Lexer

type Token =
  | { t: "word"; value: string; raw: string; start: number; end: number }
  | { t: "ident"; value: string; raw: string; start: number; end: number } // "quoted"
  | { t: "string"; value: string; raw: string; start: number; end: number }
  | { t: "punct"; value: string; raw: string; start: number; end: number }
  | { t: "number"; value: string; raw: string; start: number; end: number };

class DdlxSyntaxError extends Error {}

function lex(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const isWordStart = (c: string) => /[A-Za-z_\u0080-\uffff]/.test(c);
  const isWord = (c: string) => /[A-Za-z0-9_$\u0080-\uffff]/.test(c);
  while (i < text.length) {
    const c = text[i];
    if (/\s/.test(c)) {
      i++;
    } else if (c === "-" && text[i + 1] === "-") {
      while (i < text.length && text[i] !== "\n") i++;
    } else if (c === "'") {
      const start = i;
      let value = "";
      for (i++;; i++) {
        if (i >= text.length) throw new DdlxSyntaxError("unterminated string");
        if (text[i] === "'") {
          if (text[i + 1] === "'") {
            value += "'";
            i++;
          } else break;
        } else value += text[i];
      }
      i++;
      tokens.push({ t: "string", value, raw: text.slice(start, i), start, end: i });
    } else if (c === "$" && /^\$[A-Za-z_]*\$/.test(text.slice(i))) {
      const start = i;
      const tag = /^\$[A-Za-z_]*\$/.exec(text.slice(i))![0];
      const close = text.indexOf(tag, i + tag.length);
      if (close < 0) throw new DdlxSyntaxError("unterminated dollar-quoted string");
      const value = text.slice(i + tag.length, close);
      i = close + tag.length;
      tokens.push({ t: "string", value, raw: text.slice(start, i), start, end: i });
    } else if (c === '"') {
      const start = i;
      let value = "";
      for (i++;; i++) {
        if (i >= text.length) throw new DdlxSyntaxError("unterminated quoted identifier");
        if (text[i] === '"') {
          if (text[i + 1] === '"') {
            value += '"';
            i++;
          } else break;
        } else value += text[i];
      }
      i++;
      tokens.push({ t: "ident", value, raw: text.slice(start, i), start, end: i });
    } else if (isWordStart(c)) {
      const start = i;
      while (i < text.length && isWord(text[i])) i++;
      const raw = text.slice(start, i);
      tokens.push({ t: "word", value: raw.toLowerCase(), raw, start, end: i });
    } else if (/[0-9]/.test(c)) {
      const start = i;
      while (i < text.length && /[0-9]/.test(text[i])) i++;
      const raw = text.slice(start, i);
      tokens.push({ t: "number", value: raw, raw, start, end: i });
    } else {
      tokens.push({ t: "punct", value: c, raw: c, start: i, end: i + 1 });
      i++;
    }
  }
  return tokens;
}

// ---------------------------------------------------------------------------------------
// Parser

class Parser {
  #tokens: Token[];
  #at = 0;
  readonly text: string;

  constructor(text: string) {
    this.text = text;
    this.#tokens = lex(text);
  }

  peek(offset = 0): Token | undefined {
    return this.#tokens[this.#at + offset];
  }

  next(): Token {
    const token = this.#tokens[this.#at];
    if (!token) this.fail();
    this.#at++;
    return token;
  }

  /** Stops with "syntax error before: <current token>". */
  fail(): never {
    const token = this.#tokens[this.#at];
    if (!token) throw new DdlxSyntaxError("syntax error before: ");
    const shown = token.t === "punct" ? `'${token.raw}'` : `<<${JSON.stringify(token.raw)}>>`;
    throw new DdlxSyntaxError(`syntax error before: ${shown}`);
  }

  isWord(...words: string[]): boolean {
    const token = this.peek();
    return token?.t === "word" && words.includes(token.value);
  }

  isPunct(p: string): boolean {
    return this.isPunctAt(0, p);
  }

  isPunctAt(offset: number, p: string): boolean {
    const token = this.peek(offset);
    return token?.t === "punct" && token.value === p;
  }

  word(...words: string[]): string {
    if (!this.isWord(...words)) this.fail();
    return this.next().value;
  }

  punct(p: string): void {
    if (!this.isPunct(p)) this.fail();
    this.next();
  }

  acceptWord(word: string): boolean {
    if (!this.isWord(word)) return false;
    this.next();
    return true;
  }

  acceptPunct(p: string): boolean {
    if (!this.isPunct(p)) return false;
    this.next();
    return true;
  }

  identifier(): string {
    const token = this.peek();
    if (token?.t !== "word" && token?.t !== "ident") this.fail();
    return this.next().value;
  }

  string(): string {
    if (this.peek()?.t !== "string") this.fail();
    return this.next().value;
  }

  qualifiedName(): QualifiedName {
    const first = this.identifier();
    if (this.acceptPunct(".")) return { schema: first, name: this.identifier() };
    return { schema: "public", name: first };
  }

  /** The raw text of a parenthesised expression, without the outer parentheses. */
  parenthesised(): string {
    const open = this.peek();
    this.punct("(");
    let depth = 1;
    for (;;) {
      const token = this.next();
      if (token.t === "punct" && token.value === "(") depth++;
      if (token.t === "punct" && token.value === ")" && --depth === 0) {
        return this.text.slice(open!.end, token.start).trim();
      }
    }
  }

  end(): void {
    this.acceptPunct(";");
    if (this.peek()) this.fail();
  }
}

const PRIVILEGES: Record<string, string[]> = {
  select: ["select"],
  insert: ["insert"],
  update: ["update"],
  delete: ["delete"],
  read: ["select"],
  write: ["insert", "update", "delete"],
  all: ["select", "insert", "update", "delete"],
};

function privileges(p: Parser): { privileges: string[]; columns?: string[] } {
  const out: string[] = [];
  let columns: string[] | undefined;
  do {
    const word = p.word(...Object.keys(PRIVILEGES));
    if (word === "all") p.acceptWord("privileges");
    for (const priv of PRIVILEGES[word]) if (!out.includes(priv)) out.push(priv);
    if (p.isPunct("(")) {
      p.punct("(");
      columns = [p.identifier()];
      while (p.acceptPunct(",")) columns.push(p.identifier());
      p.punct(")");
    }
  } while (p.acceptPunct(","));
  return columns ? { privileges: out, columns } : { privileges: out };
}

/** The built-in roles every user (or every signed-in user) holds; written unquoted. */
const BUILT_IN_ROLES = new Set(["anyone", "authenticated"]);

function invalidRole(text: string): DdlxSyntaxError {
  return new DdlxSyntaxError(
    `invalid role "${text}": expected 'name' or 'scope:name', both parts non-empty`,
  );
}

/** A role name on its own: not empty, no colon (a colon separates scope and name). */
function roleName(text: string, written = text): string {
  if (text === "") {
    throw new DdlxSyntaxError(`invalid role "${written}": a role name cannot be empty`);
  }
  if (text.includes(":")) throw invalidRole(written);
  return text;
}

/** A scope written inside a role string (`table` or `schema.table`), or undefined. */
function scopeName(text: string): QualifiedName | undefined {
  try {
    const p = new Parser(text);
    const name = p.qualifiedName();
    return p.peek() ? undefined : name;
  } catch (error) {
    if (error instanceof DdlxSyntaxError) return undefined;
    throw error;
  }
}

/** A role written as a string: `'name'` or `'scope:name'`. */
function stringRole(text: string): RoleSpec {
  const colon = text.indexOf(":");
  if (colon < 0) return { kind: "name", name: roleName(text) };
  const scope = scopeName(text.slice(0, colon));
  const name = text.slice(colon + 1);
  if (!scope || name === "" || name.includes(":")) throw invalidRole(text);
  return { kind: "name", name, scope };
}

/**
 * `'name'`, `'scope:name'`, `(scope, 'name')`, `(scope, tbl.col)`, `tbl.col`, or the built-in
 * `ANYONE` / `AUTHENTICATED` (granted, never assigned).
 */
function role(p: Parser, allowColumn: boolean): RoleSpec {
  if (p.peek()?.t === "string") return stringRole(p.string());
  if (p.acceptPunct("(")) {
    const scope = p.qualifiedName();
    p.punct(",");
    let spec: RoleSpec;
    if (p.peek()?.t === "string") {
      spec = { kind: "name", name: roleName(p.string()), scope };
    } else {
      if (!allowColumn) p.fail();
      spec = { ...columnRef(p), scope };
    }
    p.punct(")");
    return spec;
  }
  const word = p.peek();
  if (word?.t === "word" && BUILT_IN_ROLES.has(word.value) && !p.isPunctAt(1, ".")) {
    const name = word.value.toUpperCase();
    if (allowColumn) throw new DdlxSyntaxError(`role ${name} is built in and cannot be assigned`);
    p.next();
    return { kind: "name", name };
  }
  if (!allowColumn) {
    throw new DdlxSyntaxError(
      `role must be a quoted string, e.g. '${
        p.peek()?.raw ?? "name"
      }', or one of ANYONE, AUTHENTICATED`,
    );
  }
  return columnRef(p);
}

/** An assignment's role column belongs to the table the assignment is on. */
function checkRoleColumn(spec: RoleSpec, table: QualifiedName): void {
  if (spec.kind === "column" && spec.table !== undefined && spec.table !== table.name) {
    throw new DdlxSyntaxError(
      `role column ${spec.table}.${spec.column} is not a column of ${table.name}`,
    );
  }
}

function columnRef(p: Parser): { kind: "column"; table?: string; column: string } {
  const first = p.identifier();
  if (p.acceptPunct(".")) return { kind: "column", table: first, column: p.identifier() };
  return { kind: "column", column: first };
}

function tableColumn(p: Parser): { table: QualifiedName; column: string } {
  const parts = [p.identifier()];
  while (p.acceptPunct(".")) parts.push(p.identifier());
  if (parts.length === 2) return { table: { schema: "public", name: parts[0] }, column: parts[1] };
  if (parts.length === 3) return { table: { schema: parts[0], name: parts[1] }, column: parts[2] };
  return p.fail();
}

function parseCommand(p: Parser): DdlxCommand {
  if (p.acceptWord("alter")) {
    p.word("table");
    const table = p.qualifiedName();
    const action = p.word("enable", "disable");
    p.word("electric");
    p.end();
    return { kind: action as "enable" | "disable", table };
  }
  p.word("electric");
  const verb = p.word("enable", "disable", "grant", "revoke", "assign", "unassign", "sqlite");
  switch (verb) {
    case "enable":
    case "disable": {
      const table = p.qualifiedName();
      p.end();
      return { kind: verb, table };
    }
    case "grant": {
      const privs = privileges(p);
      p.word("on");
      const table = p.qualifiedName();
      p.word("to");
      const granted = role(p, false);
      let using: string | undefined;
      let check: string | undefined;
      if (p.acceptWord("using")) {
        const parts = [p.identifier()];
        while (p.acceptPunct(".") || p.acceptPunct("/")) parts.push(p.identifier());
        using = parts.join(".");
      }
      if (p.acceptWord("check")) check = p.parenthesised();
      p.end();
      return {
        kind: "grant",
        ...privs,
        table,
        role: granted,
        ...(using === undefined ? {} : { using }),
        ...(check === undefined ? {} : { check }),
      };
    }
    case "revoke": {
      const privs = privileges(p);
      p.word("on");
      const table = p.qualifiedName();
      p.word("from");
      const revoked = role(p, false);
      p.end();
      return { kind: "revoke", ...privs, table, role: revoked };
    }
    case "assign": {
      const assigned = role(p, true);
      p.word("to");
      const target = tableColumn(p);
      checkRoleColumn(assigned, target.table);
      let condition: string | undefined;
      if (p.acceptWord("if")) condition = p.parenthesised();
      p.end();
      return {
        kind: "assign",
        role: assigned,
        ...target,
        ...(condition === undefined ? {} : { condition }),
      };
    }
    case "unassign": {
      const assigned = role(p, true);
      p.word("from");
      const target = tableColumn(p);
      checkRoleColumn(assigned, target.table);
      p.end();
      return { kind: "unassign", role: assigned, ...target };
    }
    default: {
      const sql = p.string();
      p.end();
      return { kind: "sqlite", sql };
    }
  }
}

/** Parses one DDLX statement (with or without its trailing `;`). */
export function parseDdlx(text: string): DdlxParse {
  try {
    return { ok: true, command: parseCommand(new Parser(text)) };
  } catch (error) {
    if (error instanceof DdlxSyntaxError) return { ok: false, detail: error.message };
    throw error;
  }
}

// ---------------------------------------------------------------------------------------
// Rendering

/** A SQL string literal. */
export function literal(text: string | undefined | null): string {
  return text === undefined || text === null ? "null" : `'${text.replaceAll("'", "''")}'`;
}

/** `"schema"."table"` (quotes inside names doubled). */
export function quotedTable(table: QualifiedName): string {
  const q = (s: string) => `"${s.replaceAll('"', '""')}"`;
  return `${q(table.schema)}.${q(table.name)}`;
}

function scopeLiteral(scope: QualifiedName | undefined): string {
  return literal(scope === undefined ? "__global__" : quotedTable(scope));
}

function columnsArray(columns: string[] | undefined): string {
  return `ARRAY[${(columns ?? ["*"]).map(literal).join(", ")}]`;
}

/** The upstream statements of a command, each ending with a newline, run in sequence. */
export function ddlxStatements(command: DdlxCommand): string[] {
  switch (command.kind) {
    case "enable":
      return [`CALL electric.enable(${literal(quotedTable(command.table))});\n`];
    case "disable":
      return [`CALL electric.disable(${literal(quotedTable(command.table))});\n`];
    case "grant":
      return command.privileges.map((privilege) =>
        `CALL electric.grant(privilege_name => ${literal(privilege)}, on_table_name => ${
          literal(quotedTable(command.table))
        }, role_name => ${literal(grantedName(command.role))}, columns => ${
          columnsArray(command.columns)
        }, scope_name => ${scopeLiteral(command.role.scope)}, using_path => ${
          literal(command.using)
        }, check_fn => ${literal(command.check)});\n`
      );
    case "revoke":
      return command.privileges.map((privilege) =>
        `CALL electric.revoke(${literal(privilege)}, ${literal(quotedTable(command.table))}, ${
          literal(grantedName(command.role))
        }, ${columnsArray(command.columns)}, ${scopeLiteral(command.role.scope)});\n`
      );
    case "assign":
    case "unassign": {
      const r = command.role;
      const args = [
        `assign_table_full_name => ${literal(quotedTable(command.table))}`,
        `scope => ${r.scope === undefined ? "null" : scopeLiteral(r.scope)}`,
        `user_column_name => ${literal(command.column)}`,
        `role_name_string => ${literal(r.kind === "name" ? r.name : undefined)}`,
        `role_column_name => ${literal(r.kind === "column" ? r.column : undefined)}`,
      ];
      if (command.kind === "assign") args.push(`if_fn => ${literal(command.condition)}`);
      return [`CALL electric.${command.kind}(${args.join(", ")});\n`];
    }
    case "sqlite":
      return [`CALL electric.sqlite(sql => ${literal(command.sql)});\n`];
  }
}

function grantedName(role: RoleSpec): string | undefined {
  return role.kind === "name" ? role.name : undefined;
}
