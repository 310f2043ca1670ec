/**
 * The generic value converters of doc 1.1, as valibot schemas over the raw environment value
 * (`undefined` = unset). Their leniency is observable behaviour of the reference, so it is
 * copied on purpose: booleans treat anything but "false"/"0"/"" as true, integers ignore
 * trailing junk.
 *
 * Each converter is a pure function returning `Parsed<T>`; `schemaOf()` lifts it into a valibot
 * schema whose issue message is the full problem text (it starts with the variable name).
 */
import * as v from "valibot";

/** A conversion outcome: a value, or the complete problem message. */
export type Parsed<T> =
  | { ok: true; value: T }
  // `variable` overrides the option's own name when one check covers several variables (auth).
  | { ok: false; message: string; variable?: string };

/** What every option declares: raw env value in, typed value out, issues carry messages. */
export type OptionSchema<T> = v.GenericSchema<string | undefined, T>;

export const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
export const fail = <T = never>(message: string, variable?: string): Parsed<T> =>
  variable === undefined ? { ok: false, message } : { ok: false, message, variable };

/**
 * Builds an option's schema: applies the string default when unset (so the table's default is
 * the single source of truth), then runs the converter. Without a default the converter must
 * accept `undefined`; `option()` in options.ts enforces that with overloads.
 */
export function schemaOf<T>(
  convert: (raw: string) => Parsed<T>,
  defaultValue?: string,
): OptionSchema<T> {
  const base = defaultValue === undefined
    ? v.optional(v.string())
    : v.optional(v.string(), defaultValue);
  return v.pipe(
    base,
    v.rawTransform(({ dataset, addIssue, NEVER }) => {
      const parsed = convert(dataset.value as string);
      if (parsed.ok) return parsed.value;
      addIssue({ message: parsed.message });
      return NEVER;
    }),
  );
}

/** Plain string: the raw value, even empty. */
export const asString = (raw: string | undefined): Parsed<string | undefined> => ok(raw);

/** Strings where whitespace-only means "not given" (auth options, hosts). */
export const blankAsUnset = (raw: string | undefined): Parsed<string | undefined> =>
  ok(raw === undefined || raw.trim() === "" ? undefined : raw);

/** Only an empty string means unset (`STATSD_HOST`). */
export const emptyAsUnset = (raw: string | undefined): Parsed<string | undefined> =>
  ok(raw === "" ? undefined : raw);

/** Doc 1.1 boolean: "false", "0" and "" (any case) are false, everything else is true. */
export function parseBoolean(raw: string): boolean {
  const lower = raw.toLowerCase();
  return !(lower === "false" || lower === "0" || lower === "");
}

export const asBoolean = (raw: string): Parsed<boolean> => ok(parseBoolean(raw));

/** For booleans whose "unset" state matters (`DATABASE_REQUIRE_SSL`). */
export const asOptionalBoolean = (raw: string | undefined): Parsed<boolean | undefined> =>
  ok(raw === undefined ? undefined : parseBoolean(raw));

const LEADING_INTEGER = /^[+-]?\d+/;

/**
 * Doc 1.1 integer: "" is 0, an optional sign and leading digits are read and trailing junk is
 * ignored ("5133abc" is 5133). A value without leading digits is a hard failure.
 */
export function parseLenientInteger(raw: string): number | undefined {
  if (raw === "") return 0;
  const match = LEADING_INTEGER.exec(raw);
  return match ? Number(match[0]) : undefined;
}

export const asInteger = (env: string) => (raw: string): Parsed<number> => {
  const value = parseLenientInteger(raw);
  return value === undefined
    ? fail(`Error converting variable ${env} to integer: unparsable value "${raw}"`)
    : ok(value);
};

/** Lists values the way the reference's messages do: `["a", "b"]`. */
export const quoteList = (values: readonly string[]): string =>
  `[${values.map((x) => `"${x}"`).join(", ")}]`;

/**
 * Case-sensitive choice. `shown` is what the message lists, which may be fewer than the
 * accepted values (LOG_LEVEL only advertises the four public levels).
 */
export function oneOf<T extends string>(
  env: string,
  accepted: readonly T[],
  shown: readonly string[] = accepted,
) {
  return (raw: string): Parsed<T> => {
    if ((accepted as readonly string[]).includes(raw)) return ok(raw as T);
    return fail(`${env} has invalid value: "${raw}". Must be one of ${quoteList(shown)}`);
  };
}
