/**
 * Validates a subscription request against the schema model and builds its plan: one layer
 * tree per shape request, with the where clauses type-checked and the many-to-one parents
 * every included table needs added automatically (postgres-side.md §9.1, satellite-protocol.md
 * §7.2). Validation errors are values, in the shape `SatSubsResp.err` carries them.
 */
import {
  DEFAULT_SCHEMA,
  findTable,
  type ForeignKeyModel,
  type SchemaModel,
  type TableModel,
} from "../schema/mod.ts";
import type {
  LayerPlan,
  RequestPlan,
  SelectInput,
  ShapeRequestError,
  ShapeRequestErrorCode,
  SubscriptionInput,
  SubscriptionPlan,
  SubsError,
} from "./types.ts";
import { parseWhere } from "./where_parse.ts";

export type PlanResult = { ok: true; plan: SubscriptionPlan } | { ok: false; error: SubsError };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const PRINTABLE = /^[^\p{C}]+$/u;
const MAX_ID_BYTES = 128;
const MAX_TABLE_NAME_BYTES = 64;

class RequestError extends Error {
  constructor(readonly code: ShapeRequestErrorCode, message: string) {
    super(message);
  }
}

function failure(message: string, code: SubsError["code"] = "CODE_UNSPECIFIED"): PlanResult {
  return { ok: false, error: { code, message, shapeRequestErrors: [] } };
}

export async function planSubscription(
  input: SubscriptionInput,
  model: SchemaModel,
  context: { activeSubscriptionIds: ReadonlySet<string> },
): Promise<PlanResult> {
  const id = input.subscriptionId;
  if (new TextEncoder().encode(id).length > MAX_ID_BYTES) return failure("ID too long");
  if (!UUID.test(id)) return failure("Subscription ID should be a valid UUID");
  if (context.activeSubscriptionIds.has(id)) {
    return failure(
      "Cannot establish multiple subscriptions with the same ID. If you want to change the subscription, you need to unsubscribe first.",
      "SUBSCRIPTION_ID_ALREADY_EXISTS",
    );
  }
  if (input.shapeRequests.length === 0) {
    return failure("Subscription must include at least one shape request");
  }
  const requestIds = new Set(input.shapeRequests.map((r) => r.requestId));
  if (requestIds.size !== input.shapeRequests.length) {
    return failure("Duplicated request ids are not allowed");
  }
  const requests: RequestPlan[] = [];
  const errors: ShapeRequestError[] = [];
  for (const request of input.shapeRequests) {
    try {
      if (request.selectCount === 0 || request.select === undefined) {
        throw new RequestError("EMPTY_SHAPE_DEFINITION", "Empty shape requests are not allowed");
      }
      if (request.selectCount > 1) {
        throw new RequestError(
          "INVALID_INCLUDE_TREE",
          "Cannot have more than one top-level select",
        );
      }
      const builder = new LayerBuilder(model, id, request.requestId);
      const root = await builder.layer(request.select, "0", undefined, []);
      requests.push({ requestId: request.requestId, root });
    } catch (error) {
      if (!(error instanceof RequestError)) throw error;
      errors.push({ code: error.code, message: error.message, requestId: request.requestId });
    }
  }
  if (errors.length > 0) {
    return {
      ok: false,
      error: {
        code: "SHAPE_REQUEST_ERROR",
        message: "Could not establish a subscription due to errors on requests",
        shapeRequestErrors: errors,
      },
    };
  }
  return { ok: true, plan: { subscriptionId: id, requests } };
}

function qualified(table: { schema: string; name: string }): string {
  return `${table.schema}.${table.name}`;
}

function sameColumns(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((c, i) => c === b[i]);
}

/** A foreign key regardless of the direction it is followed in. */
function relationshipKey(fk: ForeignKeyModel): string {
  return `${fk.name}->${fk.parentSchema}.${fk.parentTable}(${fk.columns.join(",")})`;
}

function pointsTo(fk: ForeignKeyModel, table: TableModel): boolean {
  return fk.parentSchema === table.schema && fk.parentTable === table.name;
}

class LayerBuilder {
  constructor(
    readonly model: SchemaModel,
    readonly subscriptionId: string,
    readonly requestId: string,
  ) {}

  id(path: string): string {
    return `${this.subscriptionId}/${path}/${this.requestId}`;
  }

  table(name: string): TableModel {
    const bytes = new TextEncoder().encode(name).length;
    if (bytes === 0 || bytes > MAX_TABLE_NAME_BYTES || !PRINTABLE.test(name)) {
      throw new RequestError("TABLE_NOT_FOUND", "Invalid table name");
    }
    const table = findTable(this.model, DEFAULT_SCHEMA, name);
    if (!table) throw new RequestError("TABLE_NOT_FOUND", `Unknown table ${name}`);
    return table;
  }

  /**
   * `via` is how this layer hangs from its parent layer; `path` holds the tables from the
   * root down to here, to stop automatic parents at cycles.
   */
  async layer(
    select: SelectInput,
    path: string,
    via: LayerPlan["relation"],
    ancestors: string[],
  ): Promise<LayerPlan> {
    const table = this.table(select.tablename);
    const layer: LayerPlan = { id: this.id(path), table, automatic: false, children: [] };
    if (via) layer.relation = via;
    if (select.where.trim() !== "") {
      const where = await parseWhere(select.where, table, this.model);
      if (!where.ok) throw new RequestError("INVALID_WHERE_CLAUSE", where.message);
      layer.where = where.expr;
    }
    const here = [...ancestors, qualified(table)];
    // The relationship this layer was reached through counts as traversed already.
    const traversed = new Set<string>(via ? [relationshipKey(via.fk)] : []);
    const explicitParents = new Set<string>();
    for (const include of select.include) {
      if (!include.select) {
        throw new RequestError("INVALID_INCLUDE_TREE", "An include must have a select");
      }
      const child = this.table(include.select.tablename);
      const relation = this.relation(table, child, include.foreignKey);
      if (traversed.has(relationshipKey(relation.fk))) {
        throw new RequestError("INVALID_INCLUDE_TREE", "Cannot traverse same relationship twice");
      }
      traversed.add(relationshipKey(relation.fk));
      if (relation.kind === "many_to_one") explicitParents.add(relation.fk.name);
      const childPath = `${path}.${layer.children.length}`;
      layer.children.push(await this.layer(include.select, childPath, relation, here));
    }
    this.addAutomaticParents(layer, path, via, here, explicitParents);
    return layer;
  }

  relation(
    node: TableModel,
    child: TableModel,
    columns: string[],
  ): NonNullable<LayerPlan["relation"]> {
    if (qualified(node) === qualified(child)) {
      throw new RequestError(
        "INVALID_INCLUDE_TREE",
        `Self-referencing foreign keys are not supported (table ${qualified(node)})`,
      );
    }
    const down = child.foreignKeys.find((fk) =>
      sameColumns(fk.columns, columns) && pointsTo(fk, node)
    );
    if (down) return { kind: "one_to_many", fk: down };
    const up = node.foreignKeys.find((fk) =>
      sameColumns(fk.columns, columns) && pointsTo(fk, child)
    );
    if (up) return { kind: "many_to_one", fk: up };
    throw new RequestError(
      "INVALID_INCLUDE_TREE",
      `Relation between ${qualified(node)} and ${qualified(child)} over FK (${
        columns.join(", ")
      }) does not exist`,
    );
  }

  addAutomaticParents(
    layer: LayerPlan,
    path: string,
    via: LayerPlan["relation"],
    here: string[],
    skip: ReadonlySet<string>,
  ): void {
    for (const fk of layer.table.foreignKeys) {
      if (skip.has(fk.name)) continue;
      // The parent this layer hangs from is already there.
      if (via?.kind === "one_to_many" && via.fk.name === fk.name) continue;
      const parent = findTable(this.model, fk.parentSchema, fk.parentTable);
      if (!parent || here.includes(qualified(parent))) continue; // self-reference or cycle
      const childPath = `${path}.${layer.children.length}`;
      const child: LayerPlan = {
        id: this.id(childPath),
        table: parent,
        relation: { kind: "many_to_one", fk },
        automatic: true,
        children: [],
      };
      layer.children.push(child);
      this.addAutomaticParents(
        child,
        childPath,
        child.relation,
        [...here, qualified(parent)],
        new Set(),
      );
    }
  }
}

/**
 * `plan` with every layer's table model taken from `model` (same layers, current columns): a
 * stored plan's models are those of when it was made, and queries must read today's columns.
 */
export function withCurrentTables(plan: SubscriptionPlan, model: SchemaModel): SubscriptionPlan {
  const refresh = (layer: LayerPlan): LayerPlan => ({
    ...layer,
    table: findTable(model, layer.table.schema, layer.table.name) ?? layer.table,
    children: layer.children.map(refresh),
  });
  return {
    ...plan,
    requests: plan.requests.map((request) => ({ ...request, root: refresh(request.root) })),
  };
}
