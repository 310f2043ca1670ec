/**
 * The model as stored in `electric.schema.schema` (jsonb). The format is private to this
 * service but versioned (`format`), so a later release can read what an earlier one wrote.
 */
import * as v from "valibot";
import type { SchemaModel } from "./model.ts";

export const SCHEMA_FORMAT = 1;

const PgTypeJson = v.object({
  name: v.string(),
  array: v.array(v.number()),
  size: v.array(v.number()),
});
const FkAction = v.picklist(["NO ACTION", "RESTRICT", "CASCADE", "SET NULL", "SET DEFAULT"]);
const TableJson = v.object({
  schema: v.string(),
  name: v.string(),
  oid: v.number(),
  columns: v.array(v.object({ name: v.string(), type: PgTypeJson, notNull: v.boolean() })),
  primaryKey: v.array(v.string()),
  primaryKeyName: v.string(),
  foreignKeys: v.array(v.object({
    name: v.string(),
    columns: v.array(v.string()),
    parentSchema: v.string(),
    parentTable: v.string(),
    parentColumns: v.array(v.string()),
    onDelete: FkAction,
    onUpdate: FkAction,
  })),
  indexes: v.array(v.object({
    name: v.string(),
    unique: v.boolean(),
    columns: v.array(v.object({
      name: v.string(),
      descending: v.boolean(),
      expression: v.optional(v.string()),
    })),
    where: v.optional(v.string()),
  })),
});
const SchemaJson = v.object({
  format: v.literal(SCHEMA_FORMAT),
  version: v.nullable(v.string()),
  tables: v.array(TableJson),
  enums: v.array(v.object({ schema: v.string(), name: v.string(), values: v.array(v.string()) })),
});

export function serializeSchema(model: SchemaModel): unknown {
  // A JSON round trip drops undefined optionals and shares no references with the model.
  return JSON.parse(JSON.stringify({ format: SCHEMA_FORMAT, ...model }));
}

export type SchemaReadResult =
  | { ok: true; model: SchemaModel }
  | { ok: false; error: { code: "INVALID_SCHEMA_JSON"; message: string } };

export function readSchema(json: unknown): SchemaReadResult {
  const parsed = v.safeParse(SchemaJson, json);
  if (!parsed.success) {
    const issue = parsed.issues[0];
    const path = issue.path?.map((p) => String(p.key)).join(".") ?? "";
    return {
      ok: false,
      error: {
        code: "INVALID_SCHEMA_JSON",
        message: `Stored schema is not readable: ${path ? `${path}: ` : ""}${issue.message}`,
      },
    };
  }
  const { format: _format, ...model } = parsed.output;
  return { ok: true, model };
}

/** Error thrown by `deserializeSchema`; `readSchema` returns the same as a value. */
export class SchemaFormatError extends Error {
  readonly code = "INVALID_SCHEMA_JSON";
}

export function deserializeSchema(json: unknown): SchemaModel {
  const read = readSchema(json);
  if (!read.ok) throw new SchemaFormatError(read.error.message);
  return read.model;
}
