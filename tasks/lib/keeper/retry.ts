import { revertData } from "../errors";

/** How transient RPC failures are retried. */
export interface RetryPolicy {
  /** Attempts in all, the first included (≥ 1). */
  attempts: number;
  /** Delay after the first failure (ms); doubles after each further one. */
  baseDelayMs: number;
  /** Longest delay (ms). */
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 5, baseDelayMs: 500, maxDelayMs: 15_000 };

/** Delay after failed attempt number `attempt` (1-based): `base · 2^(attempt−1)`, capped. */
export function backoffDelay(policy: RetryPolicy, attempt: number): number {
  return Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
}

const TRANSIENT_CODES = new Set<string | number>([
  // ethers
  "NETWORK_ERROR",
  "TIMEOUT",
  "SERVER_ERROR",
  // Node sockets and undici
  "ECONNRESET",
  "ECONNREFUSED",
  "ECONNABORTED",
  "ETIMEDOUT",
  "EPIPE",
  "EAI_AGAIN",
  "ENETUNREACH",
  "EHOSTUNREACH",
  "UND_ERR_SOCKET",
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_HEADERS_TIMEOUT",
  // JSON-RPC "limit exceeded", HTTP rate limiting and gateway errors
  -32005,
  429,
  502,
  503,
  504,
]);

const TRANSIENT_MESSAGE =
  /time(d)? ?out|rate limit|too many requests|socket hang up|connection (reset|refused|closed)|ECONNRESET|ECONNREFUSED|ETIMEDOUT|EAI_AGAIN|header not found|bad gateway|service unavailable|cannot connect to the network|fetch failed|network error/i;

/**
 * Whether an error is worth retrying: a network, timeout, rate-limit or gateway failure. A revert
 * (anything carrying revert data, or an ethers `CALL_EXCEPTION`) never is.
 */
export function isTransient(error: unknown): boolean {
  if (revertData(error) !== undefined) return false;
  const seen = new Set<unknown>();
  const walk = (e: unknown, depth: number): boolean => {
    if (e === null || typeof e !== "object" || depth > 5 || seen.has(e)) return false;
    seen.add(e);
    const o = e as Record<string, unknown>;
    if (o.code === "CALL_EXCEPTION" || o.code === "INSUFFICIENT_FUNDS" || o.code === "NONCE_EXPIRED")
      return false;
    if (TRANSIENT_CODES.has(o.code as string) || TRANSIENT_CODES.has(o.status as number)) return true;
    if (typeof o.message === "string" && TRANSIENT_MESSAGE.test(o.message)) return true;
    return ["error", "cause", "info", "parent"].some((k) => walk(o[k], depth + 1));
  };
  return walk(error, 0);
}
