/**
 * Resolves the database host to the address to dial, honouring DATABASE_USE_IPV6: IPv4 only
 * by default; with IPv6 on, an IPv6 address first and IPv4 as the fallback.
 */
import { lookup } from "node:dns/promises";
import { isIP } from "node:net";

export type HostResolution =
  | { ok: true; address: string; family: 4 | 6 }
  | { ok: false; error: { code: "HOST_NOT_RESOLVED"; message: string; hint: string } };

export async function resolveDatabaseHost(host: string, useIpv6: boolean): Promise<HostResolution> {
  const literal = isIP(host);
  if (literal === 4 || literal === 6) return { ok: true, address: host, family: literal };
  const families: (4 | 6)[] = useIpv6 ? [6, 4] : [4];
  for (const family of families) {
    try {
      const { address } = await lookup(host, { family });
      return { ok: true, address, family };
    } catch {
      // Try the next family; the error below covers all of them.
    }
  }
  return {
    ok: false,
    error: {
      code: "HOST_NOT_RESOLVED",
      message: `Failed to resolve the database domain name "${host}" to an IP address.`,
      hint: useIpv6
        ? "Check the host name in DATABASE_URL."
        : "Check the host name in DATABASE_URL. If the host only has an IPv6 address, set DATABASE_USE_IPV6=true.",
    },
  };
}
