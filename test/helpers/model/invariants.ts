import { expect } from "chai";
import { MARKETS, Model, ProtocolEvent, Snapshot, Status, WAD, World } from "./world";
import { heldMarkets } from "./expect";

/** What a command did, for the invariants. */
export interface StepInfo {
  /** Whether at least one state-changing transaction of the command succeeded. */
  changed: boolean;
  /** Traders whose margin or reserve the command moved by an action that needs no price (deposits, reserve withdrawals). */
  noPrice: Set<number>;
}

const sum = (xs: bigint[]) => xs.reduce((a, b) => a + b, 0n);
const amounts = (
  events: ProtocolEvent[],
  name: string,
  arg: string,
  filter: (e: ProtocolEvent) => boolean = () => true,
) => sum(events.filter((e) => e.name === name && filter(e)).map((e) => e.args[arg] as bigint));

/**
 * 1. Token conservation, exact to the wei: the vault holds Σ margin + Σ reserve of every account (which
 * must also equal its running total), the pool its LP assets plus insurance, the engine and the keeper
 * contract nothing; no token is created or destroyed (the holders' balances sum to the supply); and every
 * token that entered or left the vault and the pool during the command is explained by its events.
 */
export function checkConservation(w: World, pre: Snapshot, post: Snapshot, events: ProtocolEvent[]) {
  const margins = [...post.traders, ...post.others].map((a) => a.margin);
  const reserves = [...post.traders, ...post.others].map((a) => a.reserve);
  expect(sum(margins) + sum(reserves), "Σ margin + Σ reserve == vault.totalHeld").to.equal(
    post.vaultTotalHeld,
  );
  expect(post.tokens.vault, "vault balance == totalHeld").to.equal(post.vaultTotalHeld);
  expect(post.tokens.pool, "pool balance == LP assets + insurance").to.equal(
    post.poolCash + post.poolInsurance,
  );
  expect(post.tokens.engine, "engine holds no tokens").to.equal(0n);
  expect(post.tokens.keeperContract, "keeper contract holds no tokens").to.equal(0n);
  expect(sum(Object.values(post.tokens)), "holders' balances == total supply").to.equal(post.totalSupply);
  expect(post.totalSupply, "no token minted or burnt").to.equal(pre.totalSupply);

  const { vault, pool } = w.holders;
  const is = (addr: string) => (e: ProtocolEvent) =>
    (e.args.to as string).toLowerCase() === addr.toLowerCase();
  const fromVault = (e: ProtocolEvent) => e.address.toLowerCase() === vault.toLowerCase();
  const fromPool = (e: ProtocolEvent) => e.address.toLowerCase() === pool.toLowerCase();
  const vaultIn =
    amounts(events, "MarginDeposited", "amountTokens") +
    amounts(events, "ReserveDeposited", "amountTokens") +
    amounts(events, "TraderPaid", "amountTokens", is(vault));
  const vaultOut =
    amounts(events, "MarginTransferred", "amountTokens", fromVault) +
    amounts(events, "ReserveWithdrawn", "amountTokens");
  expect(post.tokens.vault - pre.tokens.vault, "vault token flow == its events").to.equal(vaultIn - vaultOut);
  const poolIn =
    amounts(events, "MarginTransferred", "amountTokens", is(pool)) +
    amounts(events, "Deposit", "assets", fromPool) +
    amounts(events, "InsuranceFunded", "amountTokens");
  const poolOut =
    amounts(events, "TraderPaid", "amountTokens") + amounts(events, "Withdraw", "assets", fromPool);
  expect(post.tokens.pool - pre.tokens.pool, "pool token flow == its events").to.equal(poolIn - poolOut);
}

/**
 * 2. Liquidation hits only accounts with health < 1 before the call; a successful rebalance never lowers
 * health. A rebalance that sweeps (margin back to reserve, only above the policy's sweep health) lowers it
 * by design, but never below the policy's target. The events' health figures match the chain exactly.
 */
export function checkHealthMonotonicity(
  w: World,
  m: Model,
  pre: Snapshot,
  post: Snapshot,
  events: ProtocolEvent[],
) {
  const index = (addr: string) => w.traders.findIndex((t) => t.address.toLowerCase() === addr.toLowerCase());
  for (const e of events.filter((x) => x.name === "Liquidated")) {
    const i = index(e.args.account);
    expect(i, "only traders hold positions").to.be.gte(0);
    expect(pre.traders[i].health, `liquidated trader${i} had health < 1 before`).to.be.lt(WAD);
    expect(e.args.healthBeforeWad, "Liquidated.healthBefore == health before").to.equal(
      pre.traders[i].health,
    );
    expect(e.args.healthAfterWad, "Liquidated.healthAfter == health after").to.equal(post.traders[i].health);
  }
  for (const e of events.filter((x) => x.name === "Rescued")) {
    const i = index(e.args.account);
    expect(pre.traders[i].health, `rescued trader${i} had health < 1 before`).to.be.lt(WAD);
  }
  for (const e of events.filter((x) => x.name === "Rebalanced")) {
    const i = index(e.args.account);
    const before = pre.traders[i].health;
    const after = post.traders[i].health;
    expect(e.args.healthBeforeWad, "Rebalanced.healthBefore == health before").to.equal(before);
    expect(e.args.healthAfterWad, "Rebalanced.healthAfter == health after").to.equal(after);
    if (e.args.sweptTokens === 0n) {
      expect(after, `rebalance of trader${i} raised health`).to.be.gt(before);
    } else {
      const policy = m.policies.get(i);
      expect(policy, "a sweep needs a policy").to.not.equal(undefined);
      expect(before, "sweeps only above the sweep health").to.be.gte(policy!.sweepHealthWad);
      expect(after, "a sweep leaves health at or above the target").to.be.gte(policy!.targetHealthWad);
    }
  }
}

/**
 * 3. A reserve is always withdrawable by its owner, paused or not, whatever the prices (ICollateralVault:
 * "withdrawable by its owner at any time, paused or not"): simulating the withdrawal of the whole reserve
 * succeeds for every trader.
 */
export async function checkReserveWithdrawable(w: World, post: Snapshot) {
  await Promise.all(
    w.traders.map(async (t, i) => {
      const reserve = post.traders[i].reserve;
      if (reserve === 0n) return;
      try {
        await w.f.vault.connect(t).withdrawReserve.staticCall(reserve, t.address);
      } catch (e) {
        expect.fail(`trader${i} cannot withdraw its reserve of ${reserve}: ${(e as Error).message}`);
      }
    }),
  );
}

/**
 * 4. Nothing acts on a price that is not `Ok`: a trader holding a position in a market whose status is
 * (certainly) not `Ok` keeps its positions, and its margin and reserve move only through actions that
 * need no price (its own deposits and reserve withdrawals). Calls that must revert for it are asserted
 * where they are made (`MarginEngineBadPrice`); skipped keeper work is checked by the keeper commands.
 */
export function checkCircuitBreaker(w: World, pre: Snapshot, post: Snapshot, info: StepInfo) {
  w.traders.forEach((_, i) => {
    const blocked = heldMarkets(pre, i).some((k) => {
      const p = pre.prices[MARKETS[k].name];
      return p.certain && p.status !== Status.Ok;
    });
    if (!blocked) return;
    const a = pre.traders[i];
    const b = post.traders[i];
    expect(b.sizes, `trader${i} holds a market without Ok price: positions unchanged`).to.deep.equal(a.sizes);
    if (!info.noPrice.has(i)) {
      expect(b.margin, `trader${i} holds a market without Ok price: margin unchanged`).to.equal(a.margin);
      expect(b.reserve, `trader${i} holds a market without Ok price: reserve unchanged`).to.equal(a.reserve);
    }
  });
}

/**
 * 5. A command whose transactions all reverted (a paused action, a circuit breaker, any other refusal)
 * changed nothing: balances, positions, health, pool and LP shares are as before.
 */
export function checkRevertChangesNothing(pre: Snapshot, post: Snapshot, info: StepInfo) {
  if (info.changed) return;
  const strip = (s: Snapshot) => ({
    traders: s.traders,
    others: s.others,
    tokens: s.tokens,
    vault: s.vaultTotalHeld,
    pool: [s.poolCash, s.poolInsurance, s.poolShares, s.lpShares],
  });
  expect(strip(post), "a refused command changes nothing").to.deep.equal(strip(pre));
}

/**
 * 6. LP share price, `(totalAssets + 1) / (totalSupply + 10**6)` (the ERC-4626 conversion with virtual
 * shares), falls only through a move of the prices open trader PnL is marked at, or recorded bad debt.
 *
 * The pool marks open trader PnL at the oracle prices (`ILiquidityPool`): a price move changes the share
 * price at once, and settling PnL later (a close, a rebalance, a liquidation) moves PnL from marked to
 * cash without changing it, apart from rounding (at most `ROUNDING` token units, always in the pool's
 * favour when settled, against it when marked per position) and fees and penalties, which raise it. The
 * only loss the pool books while the marks stay put is bad debt: the part of a marked loss that could
 * not be collected beyond what insurance covers (`BadDebtRecorded.borneByLiquidityTokens`). So: if no mark
 * moved, the share price fell by at most the bad debt LPs bore (plus rounding); deposits and redemptions
 * never lower it; and the insurance buffer changes exactly by its recorded income, funding and bad-debt
 * cover.
 */
export function checkLpSharePrice(pre: Snapshot, post: Snapshot, events: ProtocolEvent[]) {
  const OFFSET = 10n ** 6n;
  const ROUNDING = 2n;
  const insuranceIn =
    amounts(events, "IncomeRecorded", "insuranceTokens") + amounts(events, "InsuranceFunded", "amountTokens");
  const covered = amounts(events, "BadDebtRecorded", "coveredByInsuranceTokens");
  expect(
    post.poolInsurance - pre.poolInsurance,
    "insurance moves only by income, funding and bad-debt cover",
  ).to.equal(insuranceIn - covered);

  const marksMoved = MARKETS.some((k) => pre.marks[k.name] !== post.marks[k.name]);
  if (marksMoved) return;
  const borne = amounts(events, "BadDebtRecorded", "borneByLiquidityTokens");
  // price(post) + (borne + rounding)/shares ≥ price(pre), cross-multiplied.
  const lhs = (post.poolAssets + borne + ROUNDING + 1n) * (pre.poolShares + OFFSET);
  const rhs = (pre.poolAssets + 1n) * (post.poolShares + OFFSET);
  expect(
    lhs >= rhs,
    `LP share price fell by more than the bad debt LPs bore (${borne}) at unchanged marks`,
  ).to.equal(true);
}

/**
 * A rebalance pays its keeper at most the engine's reward and the policy's cap, as margin credited to the
 * caller: a keeper calling the engine directly gains exactly the rewards of its `Rebalanced` events.
 */
export function checkKeeperRewards(
  w: World,
  m: Model,
  pre: Snapshot,
  post: Snapshot,
  events: ProtocolEvent[],
) {
  let direct = 0n;
  for (const e of events.filter((x) => x.name === "Rebalanced")) {
    const i = w.traders.findIndex((t) => t.address === e.args.account);
    const cap = m.policies.get(i)?.maxKeeperRewardTokens ?? 0n;
    expect(e.args.keeperRewardTokens, "keeper reward ≤ the engine's reward").to.be.lte(w.keeperReward);
    expect(e.args.keeperRewardTokens, "keeper reward ≤ the policy's cap").to.be.lte(cap);
    if (e.args.keeper === w.keeper.address) direct += e.args.keeperRewardTokens as bigint;
  }
  expect(
    post.others[0].margin - pre.others[0].margin,
    "a direct keeper's margin grows by its rewards",
  ).to.equal(direct);
}
