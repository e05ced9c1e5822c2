/**
 * The accounts a replay opens from a `BookSpec`, in the order both engines (chain and fast) open them:
 * every policy × copy × side × leverage, with the margins of copies beyond the first varied by ±20% by a
 * seeded generator, and the policy each account sets.
 */
import { parseEther } from "ethers";
import { seededRandom } from "./prices";
import type { BookSpec, PolicyName } from "./runner";

const WAD = 10n ** 18n;

export interface OpeningAccount {
  policy: PolicyName;
  side: 1 | -1;
  leverage: number;
  marginUsd: number;
  marginTokens: bigint;
  reserveTokens: bigint;
  /** The opening order (signed, WAD): margin × leverage at the first price. */
  sizeWad: bigint;
}

/** The book's accounts at first price `price0` (USD). */
export function openingBook(
  book: BookSpec,
  replicas: number,
  seed: number,
  price0: number,
): OpeningAccount[] {
  const random = seededRandom(seed);
  const price0Wad = parseEther(price0.toFixed(8));
  const out: OpeningAccount[] = [];
  for (const policy of book.policies) {
    for (let copy = 0; copy < replicas; copy++) {
      for (const side of book.sides) {
        for (const leverage of book.leverages) {
          const marginUsd = copy === 0 ? book.marginUsd : Math.round(book.marginUsd * (0.8 + 0.4 * random()));
          const size = (parseEther(String(marginUsd * leverage)) * WAD) / price0Wad;
          out.push({
            policy,
            side,
            leverage,
            marginUsd,
            marginTokens: BigInt(marginUsd) * 10n ** 6n,
            reserveTokens: BigInt(Math.round(marginUsd * book.reserveShare)) * 10n ** 6n,
            sizeWad: side === 1 ? size : -size,
          });
        }
      }
    }
  }
  return out;
}

/** The policy an account of `book` sets, with `strategy` as its planner. */
export function bookPolicy(book: BookSpec, strategy: string) {
  return {
    triggerHealthWad: parseEther(String(book.triggerHealth)),
    targetHealthWad: parseEther(String(book.targetHealth)),
    sweepHealthWad: book.sweepHealth ? parseEther(String(book.sweepHealth)) : 0n,
    allowTopUp: true,
    allowDeleverage: true,
    maxKeeperRewardTokens: 5n * 10n ** 6n,
    strategy,
  };
}

/** USDC the liquidity providers deposit: enough to back every position the book opens. */
export function lpDepositTokens(book: BookSpec): bigint {
  const totalNotional =
    book.policies.length * book.sides.length * book.leverages.reduce((a, b) => a + b, 0) * book.marginUsd;
  return BigInt(Math.ceil(totalNotional)) * 10n ** 6n;
}
