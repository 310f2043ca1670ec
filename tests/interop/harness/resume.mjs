/**
 * Telling a resume from a reset with the real client: a client that resumed keeps the server's
 * subscription ids it stored, and its connectivity states name no refusal to resume.
 */

/**
 * Server-side subscription ids the client stored, sorted.
 * @param {{ query: (sql: string) => Promise<Record<string, unknown>[]> }} client
 */
export async function storedSubscriptionIds(client) {
  const [row] = await client.query("SELECT value FROM _electric_meta WHERE key = 'subscriptions'");
  const state = JSON.parse(String(row?.value ?? "{}"));
  return Object.values(state.known ?? {})
    .map((/** @type {any} */ s) => s?.serverId)
    .filter(Boolean)
    .sort();
}

/** Client connectivity reasons that mean the server refused to resume. */
export const RESET_REASONS =
  /BEHIND_WINDOW|SUBSCRIPTION_NOT_FOUND|INVALID_POSITION|behind|subscription/i;
