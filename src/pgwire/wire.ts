/**
 * The frontend/backend protocol codec and password authentication, gathered for
 * `mod.ts` to re-export (`export * from "./wire.ts";`).
 */
export * from "./protocol.ts";
export * from "./password_auth.ts";
