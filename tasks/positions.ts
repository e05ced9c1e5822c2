import { types } from "hardhat/config";
import { defineTask } from "./lib/cli";
import type { HardhatRuntimeEnvironment } from "hardhat/types";
import { loadBallast } from "./lib/context";
import { TaskError } from "./lib/errors";
import { resolveMarket } from "./lib/markets";
import { CommonArgs, eventsOf, report, withCommonParams } from "./lib/output";
import { resolveSigner } from "./lib/signers";
import { simulateAndSend } from "./lib/tx";
import { formatHealth, formatTokens, formatWad, healthJson, parseWad } from "./lib/units";

interface PositionArgs extends CommonArgs {
  market: string;
  size?: string;
  account?: string;
}

const MARKET = "Market: asset name (ETH, BTC) or market id";
const ACCOUNT = "Signer: account index or address (default: the first account)";

withCommonParams(
  defineTask("open-position", "Opens, increases, reduces or flips a position by a signed size at the oracle price")
    .addParam("market", MARKET, undefined, types.string)
    .addParam("size", 'Signed size change in base units ("1.5" buys, "-2" sells)', undefined, types.string)
    .addOptionalParam("account", ACCOUNT, undefined, types.string),
).setAction((args: PositionArgs, hre) => trade(hre, "open-position", args));

withCommonParams(
  defineTask("close-position", "Closes a position, or reduces it by --size (its magnitude; the sign is ignored)")
    .addParam("market", MARKET, undefined, types.string)
    .addOptionalParam(
      "size",
      "Size to close in base units (default: the whole position)",
      undefined,
      types.string,
    )
    .addOptionalParam("account", ACCOUNT, undefined, types.string),
).setAction((args: PositionArgs, hre) => trade(hre, "close-position", args));

async function trade(
  hre: HardhatRuntimeEnvironment,
  kind: "open-position" | "close-position",
  args: PositionArgs,
) {
  const signer = await resolveSigner(hre, args.account);
  const b = await loadBallast(hre, args.deployment, signer);
  const market = await resolveMarket(b.engine, args.market);
  const before = (await b.engine.position(signer.address, market.id)).sizeWad;

  let receipt;
  if (kind === "open-position") {
    const delta = parseWad(args.size!, "--size", { signed: true });
    receipt = await simulateAndSend(b.decoder, kind, b.engine.modifyPosition, market.id, delta);
  } else {
    if (before === 0n) throw new TaskError(`${signer.address} has no ${market.asset} position`);
    if (args.size === undefined) {
      receipt = await simulateAndSend(b.decoder, kind, b.engine.closePosition, market.id);
    } else {
      let size = parseWad(args.size, "--size", { signed: true });
      if (size < 0n) size = -size;
      const held = before < 0n ? -before : before;
      if (size > held) {
        throw new TaskError(
          `--size ${args.size} is more than the ${market.asset} position (${formatWad(held)})`,
        );
      }
      receipt = await simulateAndSend(
        b.decoder,
        kind,
        b.engine.modifyPosition,
        market.id,
        before > 0n ? -size : size,
      );
    }
  }

  const [modified] = eventsOf(receipt, b.engine, "PositionModified");
  const after = await b.engine.position(signer.address, market.id);
  const health = await b.engine.health(signer.address);
  const fee = modified === undefined ? 0n : (modified.args.feeTokens as bigint);
  const data = {
    task: kind,
    network: hre.network.name,
    account: signer.address,
    market: market.asset,
    marketId: market.id.toString(),
    sizeBefore: formatWad(before),
    sizeDelta: modified === undefined ? "0" : formatWad(modified.args.sizeDeltaWad),
    size: formatWad(after.sizeWad),
    entryPrice: formatWad(after.entryPriceWad),
    price: modified === undefined ? null : formatWad(modified.args.priceWad),
    realizedPnl: modified === undefined ? "0" : formatWad(modified.args.realizedPnlWad),
    fee: formatTokens(fee, b.tokenDecimals),
    health: healthJson(health),
    tx: receipt.hash,
    gasUsed: receipt.gasUsed.toString(),
  };
  return report(args.json, data, () => [
    `${signer.address} ${market.asset}: ${data.sizeBefore} → ${data.size} at ${data.price} ` +
      `(fee ${data.fee} ${b.tokenSymbol}, realised PnL ${data.realizedPnl} USD)`,
    `entry ${data.entryPrice}, health ${formatHealth(health)} (tx ${receipt.hash}, gas ${receipt.gasUsed})`,
  ]);
}
