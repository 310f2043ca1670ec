/**
 * The subscribe and unsubscribe RPCs (satellite-protocol.md §7.1, §7.2, §7.6): validate and
 * plan the request, store it before anything of it can reach the client, answer, and queue the
 * change of the client's shape groups on its stream, where it takes effect at its insertion
 * point (subscription data, or a GONE batch).
 */
import { create } from "@bufbuild/protobuf";
import {
  type SatRpcRequest,
  SatSubsReqSchema,
  SatSubsResp_SatSubsError_Code,
  SatSubsResp_SatSubsError_ShapeReqError_Code,
  SatSubsRespSchema,
  SatUnsubsReqSchema,
  SatUnsubsRespSchema,
} from "../../gen/mod.ts";
import type { SchemaCatalog } from "../../migrations/mod.ts";
import { planSubscription, type SubscriptionInput } from "../../shapes/mod.ts";
import { startTransition } from "../../sync/mod.ts";
import type { ClientShapes } from "./client_shapes.ts";
import type { ClientStream } from "./client_stream.ts";
import type { ConnectionDeps } from "./deps.ts";
import { requestPayload, type SessionIo } from "./session_io.ts";
import { rpcResponseFrame } from "./wire.ts";

export interface SubscriptionContext {
  deps: Pick<ConnectionDeps, "pool" | "store" | "hub" | "log">;
  io: SessionIo;
  clientId: string;
  catalog: SchemaCatalog | undefined;
  /** Undefined until the client started replication. */
  stream: ClientStream | undefined;
  shapes: ClientShapes | undefined;
}

export async function subscribe(request: SatRpcRequest, ctx: SubscriptionContext): Promise<void> {
  const req = requestPayload(ctx.io, request, SatSubsReqSchema);
  if (!req) return;
  const respondError = (
    code: SatSubsResp_SatSubsError_Code,
    message: string,
    shapeRequestError: {
      code: SatSubsResp_SatSubsError_ShapeReqError_Code;
      message: string;
      requestId: string;
    }[] = [],
  ) => {
    ctx.io.send(rpcResponseFrame(
      request,
      SatSubsRespSchema,
      create(SatSubsRespSchema, {
        subscriptionId: req.subscriptionId.length > 128
          ? req.subscriptionId.slice(0, 128)
          : req.subscriptionId,
        err: { code, message, shapeRequestError },
      }),
    ));
  };
  const catalog = ctx.catalog;
  const sql = ctx.deps.pool();
  if (!ctx.stream || !catalog || !ctx.shapes) {
    return respondError(
      SatSubsResp_SatSubsError_Code.CODE_UNSPECIFIED,
      "Replication has not been started on this connection",
    );
  }
  const input: SubscriptionInput = {
    subscriptionId: req.subscriptionId,
    shapeRequests: req.shapeRequests.map((shape) => ({
      requestId: shape.requestId,
      selectCount: shape.shapeDefinition?.selects.length ?? 0,
      select: shape.shapeDefinition?.selects[0]
        ? toSelectInput(shape.shapeDefinition.selects[0])
        : undefined,
    })),
  };
  const planned = await planSubscription(input, catalog.current(), {
    activeSubscriptionIds: new Set(ctx.shapes.ids()),
  });
  if (!planned.ok) {
    return respondError(
      SatSubsResp_SatSubsError_Code[
        planned.error.code as keyof typeof SatSubsResp_SatSubsError_Code
      ],
      planned.error.message,
      planned.error.shapeRequestErrors.map((e) => ({
        code: SatSubsResp_SatSubsError_ShapeReqError_Code[
          e.code as keyof typeof SatSubsResp_SatSubsError_ShapeReqError_Code
        ],
        message: e.message,
        requestId: e.requestId,
      })),
    );
  }
  if (!sql) {
    return respondError(
      SatSubsResp_SatSubsError_Code.CODE_UNSPECIFIED,
      "Postgres is not connected",
    );
  }
  const plan = planned.plan;
  // Stored before its data can reach the client: from then on a resume may name it.
  await ctx.deps.store.addSubscription(ctx.clientId, { id: plan.subscriptionId, plan });
  if (ctx.io.isClosed() || !ctx.stream) return;
  ctx.io.send(
    rpcResponseFrame(
      request,
      SatSubsRespSchema,
      create(SatSubsRespSchema, { subscriptionId: req.subscriptionId }),
    ),
  );
  const change = ctx.shapes.add(plan);
  const transition = startTransition(ctx.deps.hub, {
    kind: "subscribe",
    ...change,
    base: ctx.deps.log.endLsn() ?? ctx.stream.position,
    sql,
    causedBy: `subscription:${plan.subscriptionId}`,
  });
  ctx.stream.enqueue({
    kind: "subscribe",
    subscription: {
      id: plan.subscriptionId,
      requestIds: plan.requests.map((r) => r.requestId),
    },
    transition,
  });
}

export function unsubscribe(request: SatRpcRequest, ctx: SubscriptionContext): void {
  const req = requestPayload(ctx.io, request, SatUnsubsReqSchema);
  if (!req) return;
  ctx.io.send(rpcResponseFrame(request, SatUnsubsRespSchema, create(SatUnsubsRespSchema, {})));
  const sql = ctx.deps.pool();
  const change = ctx.shapes?.remove(req.subscriptionIds);
  if (!change || !ctx.stream || !sql) return;
  const transition = startTransition(ctx.deps.hub, {
    kind: "unsubscribe",
    from: change.from,
    to: change.to,
    base: ctx.deps.log.endLsn() ?? ctx.stream.position,
    sql,
    causedBy: `unsubscribe:${change.removed[0]}`,
  });
  ctx.stream.enqueue({
    kind: "unsubscribe",
    subscriptionIds: req.subscriptionIds,
    transition,
  });
}

type ProtoSelect = {
  tablename: string;
  where: string;
  include: { foreignKey: string[]; select?: ProtoSelect }[];
};

function toSelectInput(
  select: ProtoSelect,
): SubscriptionInput["shapeRequests"][number]["select"] & object {
  return {
    tablename: select.tablename,
    where: select.where,
    include: select.include.map((relation) => ({
      foreignKey: relation.foreignKey,
      select: relation.select
        ? toSelectInput(relation.select)
        : { tablename: "", where: "", include: [] },
    })),
  };
}
