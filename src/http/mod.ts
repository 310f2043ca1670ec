/**
 * HTTP API: the Hono app and its routes. Edge module: it mounts the Satellite WebSocket,
 * migrations and tunnel handlers it is given, and imports none of those modules itself.
 */
export { type AppOptions, createApp, type MountedHandler, plain } from "./app.ts";
export { matchRoute, type RouteMatch, type RouteName } from "./routes.ts";
export { migrationsHandler, type MigrationsRouteOptions } from "./migrations_route.ts";
export { type StatusDocument, statusDocument, type StatusSource } from "./status_json.ts";
