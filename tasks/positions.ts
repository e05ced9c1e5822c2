import { types } from "hardhat/config";
import { defineTask } from "./lib/cli";
import { loadBallast } from "./lib/context";
import { TaskError } from "./lib/errors";
import { resolveMarket } from "./lib/markets";
import { CommonArgs, eventsOf, report, withCommonParams } from "./lib/output";
import { resolveSigner } from "./lib/signers";
import { simulateAndSend } from "./lib/tx";
import { formatHealth, formatTokens, formatWad, healthJson, parseWad } from "./lib/units";

interface SubmitArgs extends CommonArgs {
  market: string;
  size?: string;
  close: boolean;
  acceptablePrice?: string;
  expiry: number;
  account?: string;
}

interface OrderArgs extends CommonArgs {
  order: string;
  account?: string;
}

const MARKET = "Market: asset name (ETH, BTC) or market id";
const ACCOUNT = "Signer: account index or address (default: the first account)";
const ORDER = "Order id (printed by submit-order)";

/** Parses `--order` as a positive integer. */
function parseOrderId(value: string): bigint {
  if (!/^[0-9]+$/.test(value) || BigInt(value) === 0n) {
    throw new TaskError(`--order ${value}: not an order id (a positive integer)`);
  }
  return BigInt(value);
}

withCommonParams(
  defineTask(
    "submit-order",
    "Submits an order changing a position by a signed size (or closing it with --close); it fills at the " +
      "first oracle round published after it, when a keeper (or execute-order) executes it",
  )
    .addParam("market", MARKET, undefined, types.string)
    .addOptionalParam(
      "size",
      'Signed size change in base units ("1.5" buys, "-2" sells)',
      undefined,
      types.string,
    )
    .addFlag("close", "Close the whole position held at execution (instead of --size)")
    .addOptionalParam(
      "acceptablePrice",
      "Worst fill price in USD (buys fill at or below it, sells at or above it; default: any)",
      undefined,
      types.string,
    )
    .addOptionalParam("expiry", "Seconds the order stays executable", 3600, types.int)
    .addOptionalParam("account", ACCOUNT, undefined, types.string),
).setAction(async (args: SubmitArgs, hre) => {
  if (args.close === (args.size !== undefined)) throw new TaskError("give either --size or --close");
  if (args.expiry <= 0) throw new TaskError(`--expiry ${args.expiry}: must be a positive number of seconds`);
  const signer = await resolveSigner(hre, args.account);
  const b = await loadBallast(hre, args.deployment, signer);
  const market = await resolveMarket(b.engine, args.market);
  const delta = args.close ? 0n : parseWad(args.size!, "--size", { signed: true });
  if (!args.close && delta === 0n) throw new TaskError("--size 0: use --close to close the position");
  const acceptable =
    args.acceptablePrice === undefined ? 0n : parseWad(args.acceptablePrice, "--acceptable-price");
  const now = (await hre.ethers.provider.getBlock("latest"))!.timestamp;
  const expiry = BigInt(now + args.expiry);
  const receipt = await simulateAndSend(
    b.decoder,
    "submit-order",
    b.engine.submitOrder,
    market.id,
    delta,
    acceptable,
    expiry,
  );
  const [submitted] = eventsOf(receipt, b.engine, "OrderSubmitted");
  const data = {
    task: "submit-order",
    network: hre.network.name,
    orderId: (submitted.args.orderId as bigint).toString(),
    account: signer.address,
    market: market.asset,
    marketId: market.id.toString(),
    sizeDelta: args.close ? "close" : formatWad(delta),
    acceptablePrice: acceptable === 0n ? null : formatWad(acceptable),
    expiry: expiry.toString(),
    tx: receipt.hash,
    gasUsed: receipt.gasUsed.toString(),
  };
  return report(args.json, data, () => [
    `order ${data.orderId}: ${signer.address} ${market.asset} ${data.sizeDelta}` +
      `${data.acceptablePrice === null ? "" : ` (acceptable price ${data.acceptablePrice})`}, executable at ` +
      `the first round after it until ${expiry} (tx ${receipt.hash}, gas ${receipt.gasUsed})`,
  ]);
});

withCommonParams(
  defineTask(
    "cancel-order",
    "Cancels an order: its owner until its fill round is published, anyone once it can no longer execute",
  )
    .addParam("order", ORDER, undefined, types.string)
    .addOptionalParam("account", ACCOUNT, undefined, types.string),
).setAction(async (args: OrderArgs, hre) => {
  const signer = await resolveSigner(hre, args.account);
  const b = await loadBallast(hre, args.deployment, signer);
  const orderId = parseOrderId(args.order);
  const receipt = await simulateAndSend(b.decoder, "cancel-order", b.engine.cancelOrder, orderId);
  const [cancelled] = eventsOf(receipt, b.engine, "OrderCancelled");
  const data = {
    task: "cancel-order",
    network: hre.network.name,
    orderId: orderId.toString(),
    account: cancelled.args.account as string,
    by: signer.address,
    tx: receipt.hash,
    gasUsed: receipt.gasUsed.toString(),
  };
  return report(args.json, data, () => [
    `order ${data.orderId} of ${data.account} cancelled by ${data.by} (tx ${receipt.hash}, gas ${receipt.gasUsed})`,
  ]);
});

withCommonParams(
  defineTask(
    "execute-order",
    "Executes a pending order at the first oracle round published after it (anyone may; no fee is paid)",
  )
    .addParam("order", ORDER, undefined, types.string)
    .addOptionalParam(
      "account",
      "Executor: account index or address (default: the first account)",
      undefined,
      types.string,
    ),
).setAction(async (args: OrderArgs, hre) => {
  const signer = await resolveSigner(hre, args.account);
  const b = await loadBallast(hre, args.deployment, signer);
  const orderId = parseOrderId(args.order);
  const pending = await b.engine.pendingOrder(orderId);
  if (pending.account === hre.ethers.ZeroAddress) throw new TaskError(`order ${orderId} is not pending`);
  const market = await resolveMarket(b.engine, pending.marketId.toString());
  const before = (await b.engine.position(pending.account, market.id)).sizeWad;
  const receipt = await simulateAndSend(b.decoder, "execute-order", b.engine.executeOrder, orderId);

  const [modified] = eventsOf(receipt, b.engine, "PositionModified");
  const after = await b.engine.position(pending.account, market.id);
  const health = await b.engine.health(pending.account);
  const data = {
    task: "execute-order",
    network: hre.network.name,
    orderId: orderId.toString(),
    account: pending.account,
    executor: signer.address,
    market: market.asset,
    marketId: market.id.toString(),
    sizeBefore: formatWad(before),
    sizeDelta: formatWad(modified.args.sizeDeltaWad),
    size: formatWad(after.sizeWad),
    entryPrice: formatWad(after.entryPriceWad),
    price: formatWad(modified.args.priceWad),
    realizedPnl: formatWad(modified.args.realizedPnlWad),
    fee: formatTokens(modified.args.feeTokens as bigint, b.tokenDecimals),
    health: healthJson(health),
    tx: receipt.hash,
    gasUsed: receipt.gasUsed.toString(),
  };
  return report(args.json, data, () => [
    `order ${data.orderId}: ${data.account} ${market.asset}: ${data.sizeBefore} → ${data.size} at ${data.price} ` +
      `(fee ${data.fee} ${b.tokenSymbol}, realised PnL ${data.realizedPnl} USD)`,
    `entry ${data.entryPrice}, health ${formatHealth(health)} (tx ${receipt.hash}, gas ${receipt.gasUsed})`,
  ]);
});
