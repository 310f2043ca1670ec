/**
 * Protobuf form of a migration operation (`SatOpMigrate`), shared by the Satellite stream and
 * the `/api/migrations` metadata. Mapping only; the content is decided in `src/schema/`.
 */
import { create, toBinary } from "@bufbuild/protobuf";
import { type SatOpMigrate, SatOpMigrate_Type, SatOpMigrateSchema } from "../gen/mod.ts";
import type { SatOpMigrateData } from "../schema/mod.ts";

const STMT_TYPES: Record<SatOpMigrateData["stmts"][number]["type"], SatOpMigrate_Type> = {
  CREATE_TABLE: SatOpMigrate_Type.CREATE_TABLE,
  CREATE_INDEX: SatOpMigrate_Type.CREATE_INDEX,
  CREATE_ENUM_TYPE: SatOpMigrate_Type.CREATE_ENUM_TYPE,
  ALTER_ADD_COLUMN: SatOpMigrate_Type.ALTER_ADD_COLUMN,
};

export function toSatOpMigrate(data: SatOpMigrateData): SatOpMigrate {
  const affectedEntity = data.table
    ? {
      case: "table" as const,
      value: {
        name: data.table.name,
        columns: data.table.columns.map((column) => ({
          name: column.name,
          sqliteType: column.sqliteType,
          pgType: {
            name: column.pgType.name,
            array: column.pgType.array,
            size: column.pgType.size,
          },
        })),
        fks: data.table.fks.map((fk) => ({
          fkCols: fk.fkCols,
          pkTable: fk.pkTable,
          pkCols: fk.pkCols,
        })),
        pks: data.table.pks,
      },
    }
    : data.enumType
    ? {
      case: "enumType" as const,
      value: { name: data.enumType.name, values: data.enumType.values },
    }
    : { case: undefined };
  return create(SatOpMigrateSchema, {
    version: data.version,
    stmts: data.stmts.map((stmt) => ({ type: STMT_TYPES[stmt.type], sql: stmt.sql })),
    affectedEntity,
  });
}

export function encodeSatOpMigrate(data: SatOpMigrateData): Uint8Array {
  return toBinary(SatOpMigrateSchema, toSatOpMigrate(data));
}
