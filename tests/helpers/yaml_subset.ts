/**
 * A parser for the block-style subset of YAML that our own files use (GitHub workflows), so
 * tests can check their structure without a YAML dependency (none is in node_modules, and JSR's
 * `@std/yaml` is not reachable from these machines). Why not regexes: a workflow's meaning is in
 * its nesting (which step belongs to which job), and regexes over text cannot see it.
 *
 * Supported: block mappings and sequences, comments, plain / single- / double-quoted scalars
 * (YAML 1.2 core schema: null, booleans, integers, floats), flow sequences of scalars
 * (`[a, "b"]`), and literal block scalars (`|`, `|-`). Anything else (anchors, aliases, tags,
 * flow mappings, folded scalars, multi-line plain scalars, several documents, tabs in
 * indentation) throws, so a file that grows past the subset fails its test loudly instead of
 * being misread. Under Bun the tests compare the result with Bun's own YAML parser.
 */

export type YamlValue =
  | null
  | boolean
  | number
  | string
  | YamlValue[]
  | { [key: string]: YamlValue };

interface Line {
  /** 1-based, for error messages. */
  number: number;
  indent: number;
  /** Without indentation and comment, trimmed at the end; "" for blank and comment lines. */
  content: string;
  raw: string;
}

export class YamlSubsetError extends Error {
  constructor(message: string, line?: Line) {
    super(line ? `YAML line ${line.number}: ${message}: "${line.raw.trim()}"` : message);
    this.name = "YamlSubsetError";
  }
}

const KEY =
  /^("(?:[^"\\]|\\.)*"|'(?:[^']|'')*'|[^\s"'#\[\]{}&*!|>%@`-][\s\S]*?|-[^\s][\s\S]*?)\s*:(?:\s+([\s\S]*))?$/;

/** Parses `text` (one document of the subset) into plain JavaScript values. */
export function parseYamlSubset(text: string): YamlValue {
  const lines = text.replace(/\r\n/g, "\n").split("\n").map((raw, i): Line => {
    const indentText = raw.match(/^[ \t]*/)![0];
    const line: Line = { number: i + 1, indent: indentText.length, content: "", raw };
    if (indentText.includes("\t") && raw.trim() !== "") {
      throw new YamlSubsetError("tab in indentation", line);
    }
    line.content = stripComment(raw.slice(indentText.length)).trimEnd();
    return line;
  });
  const parser = new Parser(lines);
  parser.skipBlank();
  if (parser.peek()?.content === "---") parser.pos++;
  const value = parser.parseNode(0);
  parser.skipBlank();
  const rest = parser.peek();
  if (rest) throw new YamlSubsetError("unexpected content (wrong indentation?)", rest);
  return value;
}

function stripComment(text: string): string {
  let quote: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      if (c === "\\" && quote === '"') i++;
      else if (c === quote) quote = undefined;
    } else if (c === '"' || c === "'") {
      // A quote opens a quoted scalar only where one can start, not inside a plain scalar.
      if (i === 0 || /[\s:\[,-]/.test(text[i - 1])) quote = c;
    } else if (c === "#" && (i === 0 || /\s/.test(text[i - 1]))) {
      return text.slice(0, i);
    }
  }
  return text;
}

class Parser {
  pos = 0;
  constructor(readonly lines: Line[]) {}

  peek(): Line | undefined {
    return this.lines[this.pos];
  }

  skipBlank(): void {
    while (this.pos < this.lines.length && this.lines[this.pos].content === "") this.pos++;
  }

  /** The node starting at the next non-blank line if it is indented at least `minIndent`. */
  parseNode(minIndent: number): YamlValue {
    this.skipBlank();
    const line = this.peek();
    if (!line || line.indent < minIndent) return null;
    if (isSequenceItem(line.content)) return this.parseSequence(line.indent);
    if (KEY.test(line.content)) return this.parseMapping(line.indent);
    this.pos++;
    const value = parseScalar(line.content, line);
    this.expectNoDeeperLine(line.indent, line);
    return value;
  }

  parseSequence(indent: number): YamlValue[] {
    const items: YamlValue[] = [];
    for (;;) {
      this.skipBlank();
      const line = this.peek();
      if (!line || line.indent < indent) return items;
      if (line.indent > indent) throw new YamlSubsetError("expected a sequence item", line);
      // `key:` then `- items` at the key's indentation: the next key ends the sequence.
      if (!isSequenceItem(line.content)) return items;
      const rest = line.content.slice(1).trimStart();
      if (rest === "") {
        this.pos++;
        items.push(this.parseNode(indent + 1));
        continue;
      }
      // "- key: value" or "- - x": re-read the line as a node starting where the item starts.
      const column = line.indent + (line.content.length - rest.length);
      if (KEY.test(rest) || isSequenceItem(rest)) {
        this.lines[this.pos] = { ...line, indent: column, content: rest };
        items.push(this.parseNode(column));
      } else {
        this.pos++;
        items.push(parseScalar(rest, line));
        this.expectNoDeeperLine(indent, line);
      }
    }
  }

  parseMapping(indent: number): { [key: string]: YamlValue } {
    const map: { [key: string]: YamlValue } = {};
    for (;;) {
      this.skipBlank();
      const line = this.peek();
      if (!line || line.indent < indent) return map;
      if (line.indent > indent) throw new YamlSubsetError("unexpected indentation", line);
      if (isSequenceItem(line.content)) return map; // A sequence that belongs to the parent.
      const match = line.content.match(KEY);
      if (!match) throw new YamlSubsetError("expected `key: value`", line);
      const key = String(parseScalar(match[1], line));
      if (Object.hasOwn(map, key)) throw new YamlSubsetError(`duplicate key "${key}"`, line);
      const rest = (match[2] ?? "").trim();
      this.pos++;
      if (rest === "") {
        this.skipBlank();
        const next = this.peek();
        // `key:` followed by `- item` at the key's own indentation is a sequence value.
        map[key] = next && next.indent === indent && isSequenceItem(next.content)
          ? this.parseSequence(indent)
          : this.parseNode(indent + 1);
      } else if (/^[|>]/.test(rest)) {
        map[key] = this.parseBlockScalar(rest, indent, line);
      } else {
        map[key] = parseScalar(rest, line);
        this.expectNoDeeperLine(indent, line);
      }
    }
  }

  /** A literal block scalar: lines indented deeper than the key, blank lines kept. */
  parseBlockScalar(header: string, indent: number, headerLine: Line): string {
    if (header !== "|" && header !== "|-") {
      throw new YamlSubsetError(`block scalar "${header}" is outside the subset`, headerLine);
    }
    const body: string[] = [];
    let blockIndent: number | undefined;
    while (this.pos < this.lines.length) {
      const line = this.lines[this.pos];
      const blank = line.raw.trim() === "";
      if (!blank && line.indent <= indent) break;
      if (!blank) blockIndent ??= line.indent;
      if (!blank && line.indent < blockIndent!) {
        throw new YamlSubsetError("block scalar line indented less than its first", line);
      }
      body.push(blank ? "" : line.raw.slice(blockIndent));
      this.pos++;
    }
    while (body.length > 0 && body[body.length - 1] === "") body.pop();
    if (body.length === 0) return "";
    return body.join("\n") + (header === "|" ? "\n" : "");
  }

  expectNoDeeperLine(indent: number, after: Line): void {
    this.skipBlank();
    const next = this.peek();
    if (next && next.indent > indent) {
      throw new YamlSubsetError(
        `continuation of the scalar on line ${after.number} (multi-line plain scalar?)`,
        next,
      );
    }
  }
}

function isSequenceItem(content: string): boolean {
  return content === "-" || content.startsWith("- ");
}

function parseScalar(text: string, line: Line): YamlValue {
  if (text.startsWith('"')) {
    if (!/^"(?:[^"\\]|\\.)*"$/.test(text)) throw new YamlSubsetError("bad double quotes", line);
    try {
      return JSON.parse(text) as string;
    } catch {
      throw new YamlSubsetError("escape outside the subset", line);
    }
  }
  if (text.startsWith("'")) {
    if (!/^'(?:[^']|'')*'$/.test(text)) throw new YamlSubsetError("bad single quotes", line);
    return text.slice(1, -1).replace(/''/g, "'");
  }
  if (text.startsWith("[")) return parseFlowSequence(text, line);
  if (text === "{}") return {};
  if (/^[{&*!|>%@`]/.test(text)) {
    throw new YamlSubsetError(`"${text[0]}" is outside the subset`, line);
  }
  if (/^(?:null|Null|NULL|~)$/.test(text)) return null;
  if (/^(?:true|True|TRUE)$/.test(text)) return true;
  if (/^(?:false|False|FALSE)$/.test(text)) return false;
  if (/^[-+]?[0-9]+$/.test(text)) return Number(text);
  if (/^0x[0-9a-fA-F]+$/.test(text)) return parseInt(text.slice(2), 16);
  if (/^0o[0-7]+$/.test(text)) return parseInt(text.slice(2), 8);
  if (/^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$/.test(text)) {
    return Number(text);
  }
  return text;
}

function parseFlowSequence(text: string, line: Line): YamlValue[] {
  if (!text.endsWith("]")) throw new YamlSubsetError("flow sequence must end the line", line);
  const inner = text.slice(1, -1).trim();
  if (inner === "") return [];
  const items: string[] = [];
  let current = "";
  let quote: string | undefined;
  for (let i = 0; i < inner.length; i++) {
    const c = inner[i];
    if (quote) {
      current += c;
      if (c === "\\" && quote === '"') current += inner[++i];
      else if (c === quote) quote = undefined;
    } else if (c === '"' || c === "'") {
      quote = c;
      current += c;
    } else if (c === ",") {
      items.push(current.trim());
      current = "";
    } else if (/[\[\]{}]/.test(c)) {
      throw new YamlSubsetError("nested flow collections are outside the subset", line);
    } else {
      current += c;
    }
  }
  if (quote) throw new YamlSubsetError("unterminated quote in flow sequence", line);
  if (current.trim() !== "") items.push(current.trim());
  return items.map((item) => parseScalar(item, line));
}
