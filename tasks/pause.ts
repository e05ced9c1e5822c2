import { types } from "hardhat/config";
import { defineTask } from "./lib/cli";
import type { HardhatRuntimeEnvironment } from "hardhat/types";
import { loadBallast } from "./lib/context";
import { PAUSE_ACTION } from "./lib/enums";
import { TaskError } from "./lib/errors";
import { resolveMarket } from "./lib/markets";
import { CommonArgs, report, withCommonParams } from "./lib/output";
import { resolveSigner } from "./lib/signers";
import { simulateAndSend } from "./lib/tx";

interface PauseArgs extends CommonArgs {
  market?: string;
  action?: string;
  signer?: string;
}

for (const kind of ["pause", "unpause"] as const) {
  withCommonParams(
    defineTask(
      kind,
      kind === "pause"
        ? "Pauses everything, one market (--market) or one action (--action). Guardian or admin"
        : "Lifts the global pause, a market's (--market) or an action's (--action). Admin only",
    )
      .addOptionalParam("market", "Market: asset name (ETH, BTC) or market id", undefined, types.string)
      .addOptionalParam(
        "action",
        `Action: ${PAUSE_ACTION.map((a) => a.toLowerCase()).join("|")}`,
        undefined,
        types.string,
      )
      .addOptionalParam(
        "signer",
        "Sender: account index or address (default: the first account)",
        undefined,
        types.string,
      ),
  ).setAction((args: PauseArgs, hre) => setPause(hre, kind, args));
}

/** Index of a pause action by its name, any case. */
export function pauseActionIndex(name: string): number {
  const index = PAUSE_ACTION.findIndex((a) => a.toLowerCase() === name.trim().toLowerCase());
  if (index < 0) {
    throw new TaskError(`--action "${name}": use ${PAUSE_ACTION.map((a) => a.toLowerCase()).join(", ")}`);
  }
  return index;
}

async function setPause(hre: HardhatRuntimeEnvironment, kind: "pause" | "unpause", args: PauseArgs) {
  if (args.market !== undefined && args.action !== undefined) {
    throw new TaskError("give --market or --action, not both (neither: the global pause)");
  }
  const signer = await resolveSigner(hre, args.signer, "--signer");
  const b = await loadBallast(hre, args.deployment, signer);
  const g = b.guardian;
  let scope:
    | { scope: "global" }
    | { scope: "market"; market: string; marketId: string }
    | { scope: "action"; action: string };
  let receipt;
  if (args.market !== undefined) {
    const market = await resolveMarket(b.engine, args.market);
    scope = { scope: "market", market: market.asset, marketId: market.id.toString() };
    const method = kind === "pause" ? g.pauseMarket : g.unpauseMarket;
    receipt = await simulateAndSend(b.decoder, `${kind} market ${market.asset}`, method, market.id);
  } else if (args.action !== undefined) {
    const index = pauseActionIndex(args.action);
    scope = { scope: "action", action: PAUSE_ACTION[index] };
    const method = kind === "pause" ? g.pauseAction : g.unpauseAction;
    receipt = await simulateAndSend(b.decoder, `${kind} action ${PAUSE_ACTION[index]}`, method, index);
  } else {
    scope = { scope: "global" };
    const method = kind === "pause" ? g.pauseAll : g.unpauseAll;
    receipt = await simulateAndSend(b.decoder, `${kind} all`, method);
  }
  const data = { task: kind, network: hre.network.name, ...scope, by: signer.address, tx: receipt.hash };
  const what =
    scope.scope === "global"
      ? "everything"
      : scope.scope === "market"
        ? `market ${scope.market} (${scope.marketId})`
        : `action ${scope.action}`;
  return report(args.json, data, () => [`${kind}d ${what} (by ${signer.address}, tx ${receipt.hash})`]);
}
