import { types } from "hardhat/config";
import { defineTask } from "./lib/cli";
import { ZeroAddress } from "ethers";
import { loadBallast } from "./lib/context";
import { enumName, STATUS } from "./lib/enums";
import { TaskError } from "./lib/errors";
import { assetKey } from "./lib/markets";
import { CommonArgs, report, withCommonParams } from "./lib/output";
import { resolveSigner } from "./lib/signers";
import { simulate, simulateAndSend } from "./lib/tx";
import { formatWad, parseDecimal } from "./lib/units";

/** Chain id of the in-process Hardhat network and `hardhat node`. */
export const LOCAL_CHAIN_ID = 31337n;

/** Refuses anything but a local chain: mock feeds only exist there. */
export function assertLocalChain(chainId: bigint, network: string) {
  if (chainId !== LOCAL_CHAIN_ID) {
    throw new TaskError(
      `push-round only runs on a local chain (chainId ${LOCAL_CHAIN_ID}); network "${network}" has chainId ` +
        `${chainId}. Real feeds are pushed by Chainlink, not by this task.`,
    );
  }
}

interface PushRoundArgs extends CommonArgs {
  asset: string;
  price: string;
  walk: boolean;
  signer?: string;
}

/**
 * The answers a live feed would publish on the way from `from` to `to` during a fast move: steps of at
 * most two thirds of the adapter's deviation bound (each round then reads `Ok`), ending exactly at `to`.
 */
export function walkAnswers(from: bigint, to: bigint, maxDeviationWad: bigint): bigint[] {
  const out: bigint[] = [];
  let current = from;
  while (current !== to) {
    const step = (current * maxDeviationWad * 2n) / (3n * 10n ** 18n);
    if (step === 0n) {
      out.push(to);
      break;
    }
    if (to > current) current = to - current > step ? current + step : to;
    else current = current - to > step ? current - step : to;
    out.push(current);
  }
  return out;
}

withCommonParams(
  defineTask(
    "push-round",
    "Local chains only: pushes a round to an asset's MockV3Aggregator and calls oracle.update",
  )
    .addParam("asset", "Asset: ETH, BTC, …", undefined, types.string)
    .addParam("price", 'USD price as a decimal ("2950.5")', undefined, types.string)
    .addFlag(
      "walk",
      "Publish as many rounds as a live feed would on the way, each within the adapter's deviation bound",
    )
    .addOptionalParam(
      "signer",
      "Sender: account index or address (default: the first account)",
      undefined,
      types.string,
    ),
).setAction(async (args: PushRoundArgs, hre) => {
  const { chainId } = await hre.ethers.provider.getNetwork();
  assertLocalChain(chainId, hre.network.name);
  const signer = await resolveSigner(hre, args.signer, "--signer");
  const b = await loadBallast(hre, args.deployment, signer);
  const key = assetKey(args.asset);
  const config = await b.oracle.feedConfig(key);
  if (config.feed === ZeroAddress)
    throw new TaskError(`--asset ${args.asset}: the oracle adapter has no feed for it`);
  const feed = await hre.ethers.getContractAt("MockV3Aggregator", config.feed, signer);
  const answer = parseDecimal(args.price, Number(config.decimals), "--price");

  const answers = args.walk ? walkAnswers(await feed.latestAnswer(), answer, config.maxDeviationWad) : [answer];
  const pushes: string[] = [];
  for (const a of answers.length === 0 ? [answer] : answers) {
    const pushed = await simulateAndSend(b.decoder, `updateAnswer on ${config.feed}`, feed.updateAnswer, a);
    pushes.push(pushed.hash);
  }
  const [priceWad, status] = (await simulate(b.decoder, "oracle.update", b.oracle.update, key)) as [
    bigint,
    bigint,
  ];
  const updated = await simulateAndSend(b.decoder, "oracle.update", b.oracle.update, key);
  const roundId = await feed.latestRound();
  const statusName = enumName(STATUS, status);
  const data = {
    task: "push-round",
    network: hre.network.name,
    asset: args.asset.toUpperCase(),
    feed: config.feed,
    price: formatWad(priceWad),
    answer: answer.toString(),
    roundId: roundId.toString(),
    status: statusName,
    recorded: statusName === "Ok",
    rounds: pushes.length,
    txs: [...pushes, updated.hash],
  };
  return report(args.json, data, () => [
    (pushes.length > 1 ? `${data.asset}: ${pushes.length} rounds published, the last ` : `${data.asset}: `) +
      `round ${data.roundId} at ${args.price} on ${config.feed}; adapter status ${statusName}` +
      (data.recorded ? ", recorded as the last good price" : ""),
    ...(statusName === "Deviation"
      ? [
          `  the jump exceeds the deviation bound (${formatWad(config.maxDeviationWad)}): push a round within it to ` +
            "confirm, have the guardian call acceptPrice, or publish the move in rounds with --walk",
        ]
      : []),
  ]);
});
