/**
 * Which of the proxy's four behaviours a connection gets (proxy-http-auth-config.md §3.4),
 * chosen once from its start-up parameters, and the output shape the per-mode modules share.
 *
 *   electric     the migrations proxy proper (`engine.ts`, `plans.ts`, §3.5–3.9)
 *   prisma       introspection answered from the electrified schema (`prisma/`, §3.10)
 *   shadow       Prisma's shadow database: relayed, DDLX acknowledged unexecuted (`shadow.ts`)
 *   transparent  every message relayed unchanged (debugging, §3.11)
 *
 * The mode modules never import the session or the engine: they write into a `ModeOutput`,
 * which the session's own `Output` satisfies.
 */

export type Mode = "electric" | "prisma" | "shadow" | "transparent";

/** Database names `prisma migrate dev` gives its shadow databases. */
export const SHADOW_DATABASE_PREFIX = "prisma_migrate_shadow_db";

/** First rule that matches (§3.4): shadow database, user `prisma`, user `transparent`. */
export function selectMode(parameters: { user?: string; database?: string }): Mode {
  if (parameters.database?.startsWith(SHADOW_DATABASE_PREFIX)) return "shadow";
  if (parameters.user === "prisma") return "prisma";
  if (parameters.user === "transparent") return "transparent";
  return "electric";
}

/** The upstream database: the client's own in shadow mode, else the one of DATABASE_URL. */
export function upstreamDatabase(mode: Mode, requested: string | undefined, configured: string) {
  return mode === "shadow" && requested !== undefined ? requested : configured;
}

/** How the session's log line names the mode (`Initialising injector in … mode`). */
export function modeLabel(mode: Mode): string {
  return mode === "electric" ? "capture" : mode;
}

export interface ModeLog {
  level: "debug" | "info" | "warning" | "error";
  message: string;
}

/** What a mode module asks the transport to do; a subset of the session's `Output`. */
export interface ModeOutput {
  toClient: Uint8Array[];
  toUpstream: Uint8Array[];
  logs: ModeLog[];
  /** Close both connections once `toClient` is written. */
  close?: boolean;
}
