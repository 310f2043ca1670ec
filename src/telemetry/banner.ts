/**
 * Boxed banners for fatal or notable conditions (configuration errors, connection errors,
 * database misconfiguration). They bypass LOG_LEVEL and always print, because a user who
 * set LOG_LEVEL=error still needs to see why the service refused to start.
 *
 * Layout (each line prefixed with "▓ "):
 *   ┌──────┐ / │  TITLE  │ / ┕━━━━━━┙, an empty line, then the body lines.
 */

const PREFIX = "▓ ";

/** Renders a titled box followed by the body lines, every line prefixed with `▓ `. */
export function formatBanner(title: string, body: readonly string[]): string {
  const width = title.length + 4;
  const lines = [
    `┌${"─".repeat(width)}┐`,
    `│  ${title}  │`,
    `┕${"━".repeat(width)}┙`,
    "",
    ...body,
  ];
  return lines.map((line) => PREFIX + line).join("\n") + "\n";
}

/** The body used for configuration problems: one `  * <problem>` entry per line, blank-separated. */
export function configurationErrorBody(intro: string, problems: readonly string[]): string[] {
  const body = [intro, ""];
  for (const problem of problems) body.push(`  * ${problem}`, "");
  body.push(
    "Please review the official configuration reference at",
    "https://electric-sql.com/docs/api/service",
    "and double-check your values.",
  );
  return body;
}
