import { types } from "hardhat/config";
import { defineTask } from "./lib/cli";
import { ZeroAddress } from "ethers";
import { loadBallast } from "./lib/context";
import { enumName, KEEPER_ACTION, STATUS } from "./lib/enums";
import { assetName } from "./lib/markets";
import { CommonArgs, report, table, withCommonParams } from "./lib/output";
import { resolveAccount } from "./lib/signers";
import { fixed, formatHealth, formatTokens, formatWad, healthJson, percent, usd } from "./lib/units";
import { strategyLabel } from "./policy";

withCommonParams(
  defineTask(
    "account-status",
    "Health, distance to liquidation, liquidation prices, P_hit, deltas, policy and next action",
  ).addParam("account", "The account: an address, or an account index", undefined, types.string),
).setAction(async (args: CommonArgs & { account: string }, hre) => {
  const account = await resolveAccount(hre, args.account);
  const b = await loadBallast(hre, args.deployment);
  const lens = await b.lens();
  const [v, horizon] = await Promise.all([lens.accountView(account), lens.horizonSeconds()]);
  const tokens = (x: bigint) => formatTokens(x, b.tokenDecimals);

  const markets = await Promise.all(
    v.markets.map(async (m) => ({
      marketId: m.marketId.toString(),
      asset: assetName(m.asset),
      size: formatWad(m.sizeWad),
      entryPrice: formatWad(m.entryPriceWad),
      price: formatWad(m.priceWad),
      priceStatus: enumName(STATUS, (await b.oracle.price(m.asset))[1]),
      dollarDelta: formatWad(m.dollarDeltaWad),
      unrealizedPnl: formatWad(m.unrealizedPnlWad),
      liquidationPrice: m.liquidationPriceWad === 0n ? null : formatWad(m.liquidationPriceWad),
      volatility: formatWad(m.volatilityWad),
    })),
  );
  const hasPolicy = v.policy.strategy !== ZeroAddress;
  const policy = hasPolicy
    ? {
        strategy: strategyLabel(b, v.policy.strategy),
        strategyAddress: v.policy.strategy,
        trigger: formatWad(v.policy.triggerHealthWad),
        target: formatWad(v.policy.targetHealthWad),
        sweep: formatWad(v.policy.sweepHealthWad),
        topUp: v.policy.allowTopUp,
        deleverage: v.policy.allowDeleverage,
        maxReward: tokens(v.policy.maxKeeperRewardTokens),
      }
    : null;
  const action = enumName(KEEPER_ACTION, v.action);
  const plan = {
    targetHealth: formatWad(v.plan.targetHealthWad),
    topUp: tokens(v.plan.topUpTokens),
    closes: v.plan.closes.map((c) => ({
      market: markets[Number(c.index)]?.asset ?? `#${c.index}`,
      size: formatWad(c.sizeWad),
    })),
    sweep: tokens(v.plan.sweepTokens),
  };
  const data = {
    account,
    network: hre.network.name,
    margin: tokens(v.marginTokens),
    reserve: tokens(v.reserveTokens),
    equity: formatWad(v.equityWad),
    maintenance: formatWad(v.maintenanceWad),
    initial: formatWad(v.initialWad),
    health: healthJson(v.healthWad),
    distanceToLiquidation: formatWad(v.distanceToLiquidationWad),
    hitProbability: formatWad(v.hitProbabilityWad),
    horizonSeconds: Number(horizon),
    netDollarDelta: formatWad(v.netDollarDeltaWad),
    pricesOk: v.pricesOk,
    policy,
    action,
    plan: action === "Rebalance" ? plan : null,
    deleverageCapped: v.deleverageCapped,
    markets,
  };

  return report(args.json, data, () => {
    const sym = b.tokenSymbol;
    const lines = [
      `account ${account} (${hre.network.name})`,
      `  margin ${usd(v.marginTokens * 10n ** BigInt(18 - b.tokenDecimals))} ${sym}, reserve ` +
        `${usd(v.reserveTokens * 10n ** BigInt(18 - b.tokenDecimals))} ${sym}`,
      `  equity ${usd(v.equityWad)} USD, maintenance ${usd(v.maintenanceWad)}, initial ${usd(v.initialWad)}`,
      `  health ${formatHealth(v.healthWad)}, distance to liquidation ${usd(v.distanceToLiquidationWad)} USD, ` +
        `P_hit(${fixed((horizon * 10n ** 18n) / 3600n, 18, 2)} h) ${percent(v.hitProbabilityWad)}`,
      `  net dollar delta ${usd(v.netDollarDeltaWad)} USD, prices ${v.pricesOk ? "ok" : "NOT ok"}`,
      policy === null
        ? "policy: none"
        : `policy: ${policy.strategy}, trigger ${policy.trigger}, target ${policy.target}, sweep ` +
          `${policy.sweep === "0" ? "never" : policy.sweep}, top-up ${policy.topUp ? "yes" : "no"}, deleverage ` +
          `${policy.deleverage ? "yes" : "no"}, max keeper reward ${policy.maxReward} ${sym}`,
      `now: ${action}` +
        (action === "Rebalance"
          ? ` → health ${plan.targetHealth}: top up ${plan.topUp} ${sym}` +
            plan.closes.map((c) => `, close ${c.size} ${c.market}`).join("") +
            (plan.sweep !== "0" ? `, sweep ${plan.sweep} ${sym}` : "")
          : "") +
        (v.deleverageCapped ? " (deleverage deferred by a systemic cap)" : ""),
    ];
    if (markets.length > 0) {
      lines.push("");
      lines.push(
        ...table([
          ["market", "size", "entry", "price", "status", "delta USD", "uPnL USD", "liq. price", "vol"],
          ...v.markets.map((m, i) => [
            `${markets[i].asset} (${markets[i].marketId})`,
            markets[i].size,
            usd(m.entryPriceWad),
            usd(m.priceWad),
            markets[i].priceStatus,
            usd(m.dollarDeltaWad),
            usd(m.unrealizedPnlWad),
            m.liquidationPriceWad === 0n ? "-" : usd(m.liquidationPriceWad),
            percent(m.volatilityWad, 1),
          ]),
        ]),
      );
    }
    return lines;
  });
});
