/**
 * `SatRelation` in both directions (satellite-protocol.md §6). Outgoing relations are built
 * from the server's schema model; incoming ones are only a client-local id and column order,
 * because the client's types and (always false) primary-key flags are not to be trusted.
 */
import { create } from "@bufbuild/protobuf";
import {
  type SatRelation,
  SatRelation_RelationType,
  SatRelationColumnSchema,
  SatRelationSchema,
} from "../../gen/mod.ts";
import type { PgType, SchemaModel, TableModel } from "../../schema/mod.ts";

/** What the client announced: its own relation id and the column order its rows use. */
export interface ClientRelation {
  relationId: number;
  schema: string;
  table: string;
  columns: { name: string }[];
}

/**
 * The relation the server announces for `table`: relation id = table OID, every column in
 * table order. A primary-key column is never announced as nullable, whatever the model says,
 * because the client builds keys from these flags.
 */
export function relationFor(table: TableModel, model: SchemaModel): SatRelation {
  const pk = new Set(table.primaryKey);
  return create(SatRelationSchema, {
    schemaName: table.schema,
    tableType: SatRelation_RelationType.TABLE,
    tableName: table.name,
    relationId: table.oid,
    columns: table.columns.map((c) =>
      create(SatRelationColumnSchema, {
        name: c.name,
        type: relationTypeName(c.type, model),
        primaryKey: pk.has(c.name),
        isNullable: !c.notNull && !pk.has(c.name),
      })
    ),
  });
}

/**
 * The `type` of a relation column: the internal Postgres name, or for an enum its unqualified
 * name (the client has no notion of schemas).
 */
export function relationTypeName(type: PgType, model: SchemaModel): string {
  const enumType = model.enums.find((e) => `${e.schema}.${e.name}` === type.name);
  return enumType ? enumType.name : type.name;
}

export function clientRelationFrom(msg: SatRelation): ClientRelation {
  return {
    relationId: msg.relationId,
    schema: msg.schemaName,
    table: msg.tableName,
    columns: msg.columns.map((c) => ({ name: c.name })),
  };
}
