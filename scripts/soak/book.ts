import { getAddress, id } from "ethers";
import { seededRandom } from "../../tasks/lib/sim/prices";

export type PolicyName = "none" | "threshold" | "volatility";

/** One trader of the soak. */
export interface Trader {
  index: number;
  address: string;
  side: 1 | -1;
  leverage: number;
  policy: PolicyName;
  /** USDC (whole tokens). */
  margin: number;
  reserve: number;
  /** Policy floors, when `policy` is not "none". */
  trigger: number;
  target: number;
  allowDeleverage: boolean;
}

/**
 * `count` traders, deterministic in `seed`: a third without a policy, a third with the threshold
 * strategy, a third with the volatility-scaled one (in turn); long or short at random; leverage 2×–20×
 * (whole numbers); margin 1,000–20,000 USDC; reserve 0–100% of margin. Policies: trigger 1.3–1.6 in
 * steps of 0.05, target = trigger + 0.3, top-up always allowed, deleverage allowed for 4 in 5.
 * Addresses are derived from the seed and the index (the node impersonates them).
 */
export function makeBook(count: number, seed: number): Trader[] {
  const random = seededRandom(seed);
  const policies: PolicyName[] = ["none", "threshold", "volatility"];
  const traders: Trader[] = [];
  for (let i = 0; i < count; i++) {
    const trigger = 1.3 + 0.05 * Math.floor(random() * 7);
    traders.push({
      index: i,
      address: getAddress("0x" + id(`ballast-soak-${seed}-${i}`).slice(26)),
      side: random() < 0.5 ? 1 : -1,
      leverage: 2 + Math.floor(random() * 19),
      policy: policies[i % 3],
      margin: 1_000 + Math.floor(random() * 19_001),
      reserve: 0,
      trigger: Math.round(trigger * 100) / 100,
      target: Math.round((trigger + 0.3) * 100) / 100,
      allowDeleverage: random() < 0.8,
    });
    traders[i].reserve = Math.floor(traders[i].margin * random());
  }
  return traders;
}
