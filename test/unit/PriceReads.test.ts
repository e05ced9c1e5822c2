/**
 * Prices are read once per transaction and passed down: the calls each entry point makes to a market's
 * feed, counted in the transaction's call tree (`debug_traceTransaction`, folded by scripts/gas-trace.ts).
 */
import { expect } from "chai";
import hre from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { parseEther } from "ethers";
import type { ContractTransactionResponse } from "ethers";
import { callTree, type Frame } from "../../scripts/gas-trace";
import {
  BTC,
  BTC_MARKET,
  ETH,
  ETH_MARKET,
  deployFunded,
  movePrice,
  standardPolicy,
  trade,
  usdc,
} from "../helpers/fixtures";

type F = Awaited<ReturnType<typeof deployFunded>>;

/** How many calls `tx` made to each price feed. */
async function feedCalls(f: F, tx: ContractTransactionResponse) {
  const receipt = (await tx.wait())!;
  const names = {
    [(await f.ethFeed.getAddress()).toLowerCase()]: "ETH feed",
    [(await f.btcFeed.getAddress()).toLowerCase()]: "BTC feed",
  };
  const tree = await callTree(hre, receipt.hash, Number(receipt.gasUsed), receipt.to!, names);
  const count = (frame: Frame, name: string): number =>
    (frame.to === name ? 1 : 0) + frame.children.reduce((n, c) => n + count(c, name), 0);
  return { eth: count(tree, "ETH feed"), btc: count(tree, "BTC feed") };
}

/** Alice: 800 margin and 5,000 reserve, 3 ETH long and 0.1 BTC long (health ≈ 2.6); rounds recorded. */
async function book() {
  const f = await deployFunded();
  await f.vault.connect(f.alice).depositMargin(f.alice.address, usdc(800));
  await f.vault.connect(f.alice).depositReserve(f.alice.address, usdc(5_000));
  await trade(f, f.alice, ETH_MARKET, parseEther("3"));
  await trade(f, f.alice, BTC_MARKET, parseEther("0.1"));
  // The keeper service records every market's latest round each cycle.
  await f.oracle.update(ETH);
  await f.oracle.update(BTC);
  return f;
}

describe("price reads per transaction", () => {
  it("executeOrder reads the order's market once for its round (latest and previous) and each other market once", async () => {
    const f = await loadFixture(book);
    // The order's round is new (not recorded by the adapter): its latest round and the one before it are
    // read once each, to grade the price and to place the order; the trade reuses that price. BTC's
    // recorded round is read once.
    const calls = await feedCalls(f, await trade(f, f.alice, ETH_MARKET, parseEther("1")));
    expect(calls).to.deep.equal({ eth: 2, btc: 1 });
  });

  it("a rebalance reads each market's feed once, its round time included", async () => {
    const f = await loadFixture(book);
    await f.engine.connect(f.alice).setPolicy(
      standardPolicy(await f.thresholdStrategy.getAddress(), {
        triggerHealthWad: parseEther("3"),
        targetHealthWad: parseEther("3.5"),
        allowTopUp: false,
      }),
    );
    // A round after the policy change in each market (a deleverage cannot close at a round the owner saw),
    // recorded by the adapter, as the keeper service does every round.
    await movePrice(f.ethFeed, 2_990);
    await movePrice(f.btcFeed, 59_900);
    await f.oracle.update(ETH);
    await f.oracle.update(BTC);
    const tx = await f.engine.connect(f.keeper).rebalance(f.alice.address);
    await expect(tx).to.emit(f.engine, "Rebalanced");
    expect(await feedCalls(f, tx)).to.deep.equal({ eth: 1, btc: 1 });
  });
});
