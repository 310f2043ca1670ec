/** A small schema for the permission tests: projects ← issues ← comments → users. */
import type { SchemaModel, TableModel } from "../schema/mod.ts";

const text = { name: "text", array: [], size: [] };
const int = { name: "int4", array: [], size: [] };

/** A table with an `id` key and one foreign key per `fks` entry (`column → parent`). */
export function fixture(name: string, fks: Record<string, string> = {}): TableModel {
  return {
    schema: "public",
    name,
    oid: 0,
    columns: [
      { name: "id", type: name === "issues" ? int : text, notNull: true },
      ...Object.keys(fks).map((c) => ({
        name: c,
        type: fks[c] === "issues" ? int : text,
        notNull: false,
      })),
    ],
    primaryKey: ["id"],
    primaryKeyName: `${name}_pkey`,
    foreignKeys: Object.entries(fks).map(([column, parent]) => ({
      name: `${name}_${column}_fkey`,
      columns: [column],
      parentSchema: "public",
      parentTable: parent,
      parentColumns: ["id"],
      onDelete: "NO ACTION" as const,
      onUpdate: "NO ACTION" as const,
    })),
    indexes: [],
  };
}

export const PROJECTS = fixture("projects");
export const ISSUES = fixture("issues", { project_id: "projects" });
export const COMMENTS = fixture("comments", { issue_id: "issues", author_id: "users" });
export const USERS = fixture("users");
export const MODEL: SchemaModel = {
  version: "1",
  tables: [PROJECTS, ISSUES, COMMENTS, USERS],
  enums: [],
};
