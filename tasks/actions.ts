import { types } from "hardhat/config";
import { defineTask } from "./lib/cli";
import type { HardhatRuntimeEnvironment } from "hardhat/types";
import { loadBallast } from "./lib/context";
import { TaskError } from "./lib/errors";
import { CommonArgs, eventsOf, report, withCommonParams } from "./lib/output";
import { resolveAccount, resolveSigner } from "./lib/signers";
import { simulate, simulateAndSend } from "./lib/tx";
import { formatHealth, formatTokens, formatWad, healthJson } from "./lib/units";

interface ActionArgs extends CommonArgs {
  account: string;
  signer?: string;
}

const ACCOUNT = "The account to act on: an address, or an account index";
const SIGNER = "Caller, who receives the reward: account index or address (default: the first account)";

withCommonParams(
  defineTask(
    "rebalance",
    "Rebalances an account by its policy (simulated first; not sent if it would revert)",
  )
    .addParam("account", ACCOUNT, undefined, types.string)
    .addOptionalParam("signer", SIGNER, undefined, types.string),
).setAction((args: ActionArgs, hre) => act(hre, "rebalance", args));

withCommonParams(
  defineTask(
    "liquidate",
    "Liquidates an account below health 1 (simulated first; not sent if it would revert)",
  )
    .addParam("account", ACCOUNT, undefined, types.string)
    .addOptionalParam("signer", SIGNER, undefined, types.string),
).setAction((args: ActionArgs, hre) => act(hre, "liquidate", args));

async function act(hre: HardhatRuntimeEnvironment, kind: "rebalance" | "liquidate", args: ActionArgs) {
  const account = await resolveAccount(hre, args.account);
  const signer = await resolveSigner(hre, args.signer, "--signer");
  const b = await loadBallast(hre, args.deployment, signer);
  const method = kind === "rebalance" ? b.engine.rebalance : b.engine.liquidate;
  const healthBefore = await b.engine.health(account);
  try {
    await simulate(b.decoder, kind, method, account);
  } catch (error) {
    // With --json the failure prints {task, network, account, sent: false, error} (tasks/lib/cli.ts).
    if (error instanceof TaskError) Object.assign(error.details, { account, sent: false });
    throw error;
  }
  const receipt = await simulateAndSend(b.decoder, kind, method, account);
  const tokens = (x: bigint) => formatTokens(x, b.tokenDecimals);
  const closes = eventsOf(receipt, b.engine, "PositionModified").map((e) => ({
    marketId: e.args.marketId.toString(),
    sizeDelta: formatWad(e.args.sizeDeltaWad),
    price: formatWad(e.args.priceWad),
  }));
  const base = {
    task: kind,
    network: hre.network.name,
    account,
    caller: signer.address,
    sent: true,
    tx: receipt.hash,
    gasUsed: receipt.gasUsed.toString(),
  };

  if (kind === "rebalance") {
    const [e] = eventsOf(receipt, b.engine, "Rebalanced");
    const data = {
      ...base,
      healthBefore: healthJson(e.args.healthBeforeWad),
      healthAfter: healthJson(e.args.healthAfterWad),
      toppedUp: tokens(e.args.toppedUpTokens),
      deleveragedNotional: formatWad(e.args.deleveragedNotionalWad),
      swept: tokens(e.args.sweptTokens),
      keeperReward: tokens(e.args.keeperRewardTokens),
      closes,
    };
    return report(args.json, data, () => [
      `rebalanced ${account}: health ${formatHealth(e.args.healthBeforeWad)} → ${formatHealth(e.args.healthAfterWad)}`,
      `  topped up ${data.toppedUp} ${b.tokenSymbol}, deleveraged ${data.deleveragedNotional} USD of notional, ` +
        `swept ${data.swept} ${b.tokenSymbol}, keeper reward ${data.keeperReward} ${b.tokenSymbol}`,
      `  tx ${receipt.hash}, gas ${receipt.gasUsed}`,
    ]);
  }

  const [rescued] = eventsOf(receipt, b.engine, "Rescued");
  const [liquidated] = eventsOf(receipt, b.engine, "Liquidated");
  const healthAfter = await b.engine.health(account);
  const data = {
    ...base,
    healthBefore: healthJson(healthBefore),
    healthAfter: healthJson(healthAfter),
    rescuedTopUp: rescued === undefined ? "0" : tokens(rescued.args.toppedUpTokens),
    liquidated: liquidated !== undefined,
    closedNotional: liquidated === undefined ? "0" : formatWad(liquidated.args.closedNotionalWad),
    penalty: liquidated === undefined ? "0" : tokens(liquidated.args.penaltyTokens),
    liquidatorReward: liquidated === undefined ? "0" : tokens(liquidated.args.liquidatorRewardTokens),
    badDebt: liquidated === undefined ? "0" : tokens(liquidated.args.badDebtTokens),
    closes,
  };
  return report(args.json, data, () => [
    liquidated === undefined
      ? `rescued ${account} from its reserve (${data.rescuedTopUp} ${b.tokenSymbol}): nothing liquidated`
      : `liquidated ${account}: ${data.closedNotional} USD of notional closed, penalty ${data.penalty} ` +
        `${b.tokenSymbol} (reward ${data.liquidatorReward}), bad debt ${data.badDebt}`,
    `  health ${formatHealth(healthBefore)} → ${formatHealth(healthAfter)}; tx ${receipt.hash}, gas ${receipt.gasUsed}`,
  ]);
}
