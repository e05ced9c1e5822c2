import { types } from "hardhat/config";
import { defineTask } from "./lib/cli";
import type { HardhatRuntimeEnvironment } from "hardhat/types";
import { getAddress, isAddress } from "ethers";
import { Ballast, loadBallast } from "./lib/context";
import { TaskError } from "./lib/errors";
import { CommonArgs, report, withCommonParams } from "./lib/output";
import { resolveSigner } from "./lib/signers";
import { simulateAndSend } from "./lib/tx";
import { formatTokens, formatWad, parseDecimal, parseWad } from "./lib/units";

interface SetPolicyArgs extends CommonArgs {
  strategy: string;
  trigger: string;
  target: string;
  sweep: string;
  topUp: boolean;
  deleverage: boolean;
  maxReward?: string;
  account?: string;
}

const ACCOUNT = "Signer whose policy is set: account index or address (default: the first account)";

withCommonParams(
  defineTask("set-policy", "Sets the signer's rebalancing policy")
    .addParam(
      "strategy",
      "threshold (the engine's built-in planner), volatility (volatility-scaled) or an approved strategy address",
      undefined,
      types.string,
    )
    .addParam("trigger", 'Rebalance below this health ("1.5")', undefined, types.string)
    .addParam("target", "Restore at least this health (≥ trigger + 0.05)", undefined, types.string)
    .addOptionalParam("sweep", "Sweep margin back to reserve above this health; 0 never", "0", types.string)
    .addFlag("topUp", "Allow reserve → margin top-ups")
    .addFlag("deleverage", "Allow reducing positions at the oracle price")
    .addOptionalParam(
      "maxReward",
      "Most paid to a keeper per rebalance, in token units (default: the engine's current keeper reward)",
      undefined,
      types.string,
    )
    .addOptionalParam("account", ACCOUNT, undefined, types.string),
).setAction((args: SetPolicyArgs, hre) => setPolicy(hre, args));

withCommonParams(
  defineTask("clear-policy", "Removes the signer's rebalancing policy").addOptionalParam(
    "account",
    ACCOUNT,
    undefined,
    types.string,
  ),
).setAction(async (args: CommonArgs & { account?: string }, hre) => {
  const signer = await resolveSigner(hre, args.account);
  const b = await loadBallast(hre, args.deployment, signer);
  const receipt = await simulateAndSend(b.decoder, "clear-policy", b.engine.clearPolicy);
  const data = { task: "clear-policy", network: hre.network.name, account: signer.address, tx: receipt.hash };
  return report(args.json, data, () => [`${signer.address}: policy cleared (tx ${receipt.hash})`]);
});

/** The address of a strategy given by name or address. */
export function strategyAddress(b: Ballast, spec: string): string {
  const name = spec.trim().toLowerCase();
  // The threshold rule is planned inside the engine (its own address), without a strategy call.
  if (name === "threshold") return b.address("engine");
  if (name === "volatility" || name === "volatility-scaled") return b.address("volatilityStrategy");
  if (isAddress(spec)) return getAddress(spec);
  throw new TaskError(`--strategy "${spec}": use threshold, volatility or an address`);
}

/** "threshold" (built-in or `ThresholdStrategy`) / "volatility" for the deployment's strategies, else the address. */
export function strategyLabel(b: Ballast, address: string): string {
  const { engine, thresholdStrategy, volatilityStrategy } = b.deployment.addresses;
  if (address.toLowerCase() === engine?.toLowerCase()) return "threshold";
  if (address.toLowerCase() === thresholdStrategy?.toLowerCase()) return "threshold (contract)";
  if (address.toLowerCase() === volatilityStrategy?.toLowerCase()) return "volatility";
  return address;
}

async function setPolicy(hre: HardhatRuntimeEnvironment, args: SetPolicyArgs) {
  const signer = await resolveSigner(hre, args.account);
  const b = await loadBallast(hre, args.deployment, signer);
  const strategy = strategyAddress(b, args.strategy);
  if (!(await b.engine.isStrategyApproved(strategy))) {
    throw new TaskError(`--strategy ${args.strategy} (${strategy}) is not approved by governance`);
  }
  if (!args.topUp && !args.deleverage) {
    throw new TaskError("a policy needs --top-up, --deleverage or both");
  }
  const maxReward =
    args.maxReward === undefined
      ? await b.engine.keeperReward()
      : parseDecimal(args.maxReward, b.tokenDecimals, "--max-reward", { allowZero: true });
  const policy = {
    triggerHealthWad: parseWad(args.trigger, "--trigger"),
    targetHealthWad: parseWad(args.target, "--target"),
    sweepHealthWad: parseWad(args.sweep, "--sweep", { allowZero: true }),
    allowTopUp: args.topUp,
    allowDeleverage: args.deleverage,
    maxKeeperRewardTokens: maxReward,
    strategy,
  };
  const receipt = await simulateAndSend(b.decoder, "set-policy", b.engine.setPolicy, policy);
  const data = {
    task: "set-policy",
    network: hre.network.name,
    account: signer.address,
    policy: {
      strategy: strategyLabel(b, strategy),
      strategyAddress: strategy,
      trigger: formatWad(policy.triggerHealthWad),
      target: formatWad(policy.targetHealthWad),
      sweep: formatWad(policy.sweepHealthWad),
      topUp: policy.allowTopUp,
      deleverage: policy.allowDeleverage,
      maxReward: formatTokens(maxReward, b.tokenDecimals),
    },
    tx: receipt.hash,
  };
  const p = data.policy;
  return report(args.json, data, () => [
    `${signer.address}: policy set (tx ${receipt.hash})`,
    `strategy ${p.strategy}, trigger ${p.trigger}, target ${p.target}, sweep ${p.sweep === "0" ? "never" : p.sweep}, ` +
      `top-up ${p.topUp ? "yes" : "no"}, deleverage ${p.deleverage ? "yes" : "no"}, ` +
      `max keeper reward ${p.maxReward} ${b.tokenSymbol}`,
  ]);
}
