import { expect } from "chai";
import hre, { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { AbiCoder, parseEther, parseUnits, Provider } from "ethers";
import {
  BTC,
  ETH,
  ETH_MARKET,
  answer,
  deployFunded,
  movePrice,
  orderIdOf,
  publishRound,
  usdc,
  trade,
} from "../helpers/fixtures";
import { BallastKeeper, KeeperDeps, KeeperOptions } from "../../tasks/lib/keeper";
import { ErrorDecoder } from "../../tasks/lib/errors";
import { writeFixtureDeployment } from "../helpers/deployment";

const EVENTS = ["cycle", "update", "execute", "perform", "skip", "error", "deferred"];
const NONE = 0n;
const REBALANCE = 1n;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Line = Record<string, any>;

/**
 * Five accounts long 10 ETH at 3,000, then ETH falls to 2,060 in feed rounds the adapter has not
 * recorded yet: alice (threshold policy, reserve) needs a top-up rebalance, carol (threshold policy,
 * deleverage only) a deleverage rebalance, bob and dave (no policy, thin margin) liquidation; lp is safe.
 */
async function crash() {
  const f = await deployFunded();
  const threshold = await f.thresholdStrategy.getAddress();
  const policy = (topUp: boolean) => ({
    triggerHealthWad: parseEther("1.5"),
    targetHealthWad: parseEther("2"),
    sweepHealthWad: 0n,
    allowTopUp: topUp,
    allowDeleverage: true,
    maxKeeperRewardTokens: usdc(5),
    strategy: threshold,
  });
  const dave = f.outsider;
  for (const [s, margin] of [
    [f.alice, 10_000],
    [f.carol, 10_000],
    [f.bob, 9_500],
    [dave, 9_600],
    [f.lp, 50_000],
  ] as const) {
    await f.vault.connect(s).depositMargin(s.address, usdc(margin));
    await trade(f, s, ETH_MARKET, parseEther("10"));
  }
  await f.vault.connect(f.alice).depositReserve(f.alice.address, usdc(5_000));
  await f.engine.connect(f.alice).setPolicy(policy(true));
  await f.engine.connect(f.carol).setPolicy(policy(false));
  await movePrice(f.ethFeed, 2_060);
  const decoder = await ErrorDecoder.fromArtifacts(hre.artifacts);
  return { ...f, dave, decoder };
}

type Crash = Awaited<ReturnType<typeof crash>>;

/** A keeper on the fixture, with its log lines parsed and its backoff delays recorded. */
function keeperFor(f: Crash, options: KeeperOptions = {}, deps: Partial<KeeperDeps> = {}) {
  const lines: Line[] = [];
  const delays: number[] = [];
  const keeper = new BallastKeeper(
    {
      engine: f.engine,
      keeper: f.keeperContract,
      oracle: f.oracle,
      provider: ethers.provider,
      signer: f.keeper,
      decoder: f.decoder,
      write: (line) => {
        expect(line.endsWith("\n") && !line.slice(0, -1).includes("\n"), "one line per entry").to.equal(true);
        lines.push(JSON.parse(line));
      },
      sleep: async (ms) => void delays.push(ms),
      ...deps,
    },
    options,
  );
  const of = (event: string) => lines.filter((l) => l.event === event);
  return { keeper, lines, delays, of };
}

/**
 * The hardhat provider, with `call` failing transiently `failures` times (every time when Infinity)
 * before it works again.
 */
function flakyProvider(failures: number) {
  let failed = 0;
  const proxy = providerWith({
    call: async (tx) => {
      if (failed < failures) {
        failed++;
        throw Object.assign(new Error("socket hang up"), { code: "ECONNRESET" });
      }
      return ethers.provider.call(tx as never);
    },
  });
  return { proxy, failed: () => failed };
}

/** The hardhat provider with some of its methods replaced. */
function providerWith(overrides: Record<string, (tx: { to?: string; data?: string }) => Promise<unknown>>) {
  const target = ethers.provider;
  const proxy: Provider = new Proxy(target, {
    get(t, prop) {
      if (prop === "provider") return proxy;
      if (typeof prop === "string" && prop in overrides) return overrides[prop];
      const value = Reflect.get(t, prop, t);
      return typeof value === "function" ? value.bind(t) : value;
    },
  }) as unknown as Provider;
  return proxy;
}

const actionOf = async (f: Crash, account: string) => (await f.engine.keeperAction(account)).action;

describe("Keeper service", () => {
  it("records the new round, then rebalances and liquidates every account that needs it in one cycle", async () => {
    const f = await loadFixture(crash);
    const balanceBefore = await f.token.balanceOf(f.keeper.address);
    const { keeper, lines, of } = keeperFor(f);
    const report = await keeper.runCycle();
    expect(report.status).to.equal("done");

    for (const line of lines) {
      expect(EVENTS).to.include(line.event);
      expect(new Date(line.ts).toISOString()).to.equal(line.ts);
    }
    const ethUpdate = of("update").find((l) => l.asset === "ETH")!;
    expect(ethUpdate).to.include({ price: "2060", roundId: (await f.ethFeed.latestRound()).toString() });
    expect(ethUpdate.tx).to.match(/^0x[0-9a-f]{64}$/);
    const [, , recorded] = await f.oracle.lastGoodPrice(ETH);
    expect(recorded).to.equal(await f.ethFeed.latestRound());

    const [perform] = of("perform");
    expect(of("perform")).to.have.length(1);
    expect(perform).to.include({ batch: 1, of: 1, skipped: 0 });
    expect(perform.rebalanced).to.have.members([f.alice.address, f.carol.address]);
    expect(perform.liquidated).to.have.members([f.bob.address, f.dave.address]);
    expect(Number(perform.gasUsed)).to.be.greaterThan(0);
    expect(BigInt(perform.rewardTokens)).to.be.greaterThan(0n);
    expect(await f.token.balanceOf(f.keeper.address)).to.equal(balanceBefore + BigInt(perform.rewardTokens));

    const cycle = lines[lines.length - 1];
    expect(cycle).to.include({
      event: "cycle",
      status: "done",
      rebalance: 2,
      liquidate: 2,
      batches: 1,
      dryRun: false,
    });
    for (const s of [f.alice, f.carol, f.bob, f.dave, f.lp])
      expect(await actionOf(f, s.address)).to.equal(NONE);
    expect(await f.engine.health(f.alice.address)).to.be.gte(parseEther("2"));
    expect((await f.engine.position(f.carol.address, ETH_MARKET)).sizeWad).to.be.lessThan(parseEther("10"));

    // Nothing is left: the next cycle sends nothing and does not re-log the recorded round.
    const again = keeperFor(f);
    expect((await again.keeper.runCycle()).sent).to.deep.equal([]);
    expect(again.of("perform")).to.deep.equal([]);
    expect(again.of("update")).to.deep.equal([]);
  });

  it("scans every page against one block before performing", async () => {
    const f = await loadFixture(crash);
    const checkUpkeep = f.keeperContract.interface.getFunction("checkUpkeep").selector;
    const performUpkeep = f.keeperContract.interface.getFunction("performUpkeep").selector;
    const calls: { method: string; blockTag?: unknown }[] = [];
    const target = ethers.provider;
    const recording = new Proxy(target, {
      get(t, prop) {
        if (prop === "call" || prop === "estimateGas") {
          return (tx: { data?: string; blockTag?: unknown }) => {
            const method = tx.data?.startsWith(checkUpkeep)
              ? "checkUpkeep"
              : tx.data?.startsWith(performUpkeep)
                ? "performUpkeep"
                : String(prop);
            calls.push({ method, blockTag: tx.blockTag });
            return prop === "call" ? t.call(tx as never) : t.estimateGas(tx as never);
          };
        }
        const value = Reflect.get(t, prop, t);
        return typeof value === "function" ? value.bind(t) : value;
      },
    }) as unknown as Provider;
    const { keeper, of } = keeperFor(f, { pageSize: 1 }, { provider: recording });
    const report = await keeper.runCycle();

    // Five pages of one account each, all at the block of the scan, all before the first estimate:
    // performing swap-pops closed accounts, so interleaving would skip some.
    const pages = calls.filter((c) => c.method === "checkUpkeep");
    expect(pages).to.have.length(5);
    for (const page of pages) expect(page.blockTag).to.equal(report.block);
    const lastPage = calls.lastIndexOf(pages[pages.length - 1]);
    expect(calls.findIndex((c) => c.method === "performUpkeep")).to.be.greaterThan(lastPage);
    expect(report.rebalance).to.have.members([f.alice.address, f.carol.address]);
    expect(report.liquidate).to.have.members([f.bob.address, f.dave.address]);
    expect(of("perform")[0].liquidated).to.have.members([f.bob.address, f.dave.address]);
  });

  it("sends nothing in a dry run and logs what it would send", async () => {
    const f = await loadFixture(crash);
    const block = await ethers.provider.getBlockNumber();
    const nonce = await ethers.provider.getTransactionCount(f.keeper.address);
    const { keeper, of } = keeperFor(f, { dryRun: true });
    const report = await keeper.runCycle();
    expect(report.sent).to.deep.equal([]);
    expect(await ethers.provider.getBlockNumber()).to.equal(block);
    expect(await ethers.provider.getTransactionCount(f.keeper.address)).to.equal(nonce);
    expect(of("update").find((l) => l.asset === "ETH")).to.include({ dryRun: true, price: "2060" });
    const [perform] = of("perform");
    expect(perform).to.include({ dryRun: true });
    expect(perform.rebalance).to.have.members([f.alice.address, f.carol.address]);
    expect(perform.liquidate).to.have.members([f.bob.address, f.dave.address]);
    expect(Number(perform.estimatedGas)).to.be.greaterThan(100_000);
    expect(perform).not.to.have.property("tx");
    expect(of("cycle")[0]).to.include({ dryRun: true, sent: 0 });
    expect(await actionOf(f, f.alice.address)).to.equal(REBALANCE);
  });

  it("splits batches to fit the gas budget and skips an account that alone exceeds it", async () => {
    const f = await loadFixture(crash);
    // Budget 1: every account alone is over it; each is logged with its estimate and nothing is sent.
    const probe = keeperFor(f, { gasBudget: 1n, dryRun: true });
    await probe.keeper.runCycle();
    const over = probe.of("skip").filter((l) => l.reason === "over-gas-budget");
    expect(over).to.have.length(4);
    expect(probe.of("perform")).to.deep.equal([]);
    const single = over.map((l) => BigInt(l.estimatedGas));
    const budget = single.reduce((a, b) => (a > b ? a : b));

    // A budget of the largest single account: several batches, none over it, every account handled.
    const { keeper, of } = keeperFor(f, { gasBudget: budget });
    const report = await keeper.runCycle();
    const performs = of("perform");
    expect(performs.length).to.be.greaterThan(1);
    expect(report.batches).to.equal(performs.length);
    for (const p of performs) {
      expect(BigInt(p.estimatedGas)).to.be.lte(budget);
      expect(p.of).to.equal(performs.length);
    }
    expect(performs.flatMap((p) => p.rebalanced)).to.have.members([f.alice.address, f.carol.address]);
    expect(performs.flatMap((p) => p.liquidated)).to.have.members([f.bob.address, f.dave.address]);
  });

  it("halves a batch whose estimate the node refuses outright (over its transaction gas cap)", async () => {
    const f = await loadFixture(crash);
    // A node whose cap admits performUpkeep batches of at most two actions: larger estimates are refused
    // with the error Hardhat gives for a transaction above the cap (not a revert, not transient).
    const keeperAddress = (await f.keeperContract.getAddress()).toLowerCase();
    const coder = AbiCoder.defaultAbiCoder();
    let refused = 0;
    const proxy = providerWith({
      estimateGas: async (tx) => {
        if (tx.to?.toLowerCase() === keeperAddress && tx.data) {
          const [performData] = f.keeperContract.interface.decodeFunctionData("performUpkeep", tx.data);
          const [r, l] = coder.decode(["address[]", "address[]", "address[]"], performData);
          if (r.length + l.length > 2) {
            refused++;
            throw new Error("transaction gas limit (26566158) is greater than the cap (16777216)");
          }
        }
        return ethers.provider.estimateGas(tx as never);
      },
    });
    const { keeper, of } = keeperFor(f, {}, { provider: proxy });
    const report = await keeper.runCycle();
    expect(refused).to.be.greaterThan(0);
    expect(of("split")[0]).to.include({ reason: "estimate-refused" });
    expect(report.status).to.equal("done");
    const performs = of("perform");
    expect(performs).to.have.length(2);
    expect(performs.flatMap((p) => p.rebalanced)).to.have.members([f.alice.address, f.carol.address]);
    expect(performs.flatMap((p) => p.liquidated)).to.have.members([f.bob.address, f.dave.address]);
  });

  it("executes orders once a round is published after them, and stops following lapsed ones", async () => {
    const f = await loadFixture(crash);
    const submit = async (size: string) => {
      const now = (await ethers.provider.getBlock("latest"))!.timestamp;
      return orderIdOf(
        f,
        await f.engine.connect(f.lp).submitOrder(ETH_MARKET, parseEther(size), 0n, BigInt(now) + 3_600n),
      );
    };
    const first = await submit("1");
    const k = keeperFor(f);
    // No round after the order yet: passed over without a line.
    const r1 = await k.keeper.runCycle();
    expect(r1.orders).to.deep.equal([]);
    expect(k.of("execute")).to.deep.equal([]);
    expect(k.of("skip").filter((l) => l.target === "executeOrder")).to.deep.equal([]);
    await publishRound(f, ETH_MARKET);
    const r2 = await k.keeper.runCycle();
    expect(r2.orders).to.deep.equal([first.toString()]);
    expect(k.of("execute")).to.have.length(1);
    expect(k.of("execute")[0]).to.include({ orderId: first.toString(), account: f.lp.address });
    expect(k.of("cycle").at(-1)).to.include({ orders: 1 });
    expect((await f.engine.position(f.lp.address, ETH_MARKET)).sizeWad).to.equal(parseEther("11"));
    expect((await f.engine.pendingOrder(first)).account).to.equal(ethers.ZeroAddress);

    // An order whose first round passed unexecuted is logged once and no longer followed.
    const lapsed = await submit("1");
    await publishRound(f, ETH_MARKET);
    await publishRound(f, ETH_MARKET);
    await k.keeper.runCycle();
    const skips = k.of("skip").filter((l) => l.target === "executeOrder");
    expect(skips).to.have.length(1);
    expect(skips[0]).to.include({ orderId: lapsed.toString(), reason: "would-revert" });
    expect(skips[0].error).to.match(/^MarginEngineOrderRoundPassed\(/);
    await k.keeper.runCycle();
    expect(k.of("skip").filter((l) => l.target === "executeOrder")).to.have.length(1);
  });

  it("skips the cycle while gas is above --max-gas-price, and caps the fee below it", async () => {
    const f = await loadFixture(crash);
    const nonce = await ethers.provider.getTransactionCount(f.keeper.address);
    const cheap = keeperFor(f, { maxGasPriceWei: 1n });
    const report = await cheap.keeper.runCycle();
    expect(report.status).to.equal("skipped");
    expect(cheap.lines.map((l) => l.event)).to.deep.equal(["skip", "cycle"]);
    expect(cheap.lines[0]).to.include({ reason: "gas-price", maxGasPriceGwei: "0.000000001" });
    expect(await ethers.provider.getTransactionCount(f.keeper.address)).to.equal(nonce);

    const cap = parseUnits("500", "gwei");
    const { keeper, of } = keeperFor(f, { maxGasPriceWei: cap });
    expect((await keeper.runCycle()).status).to.equal("done");
    const tx = await ethers.provider.getTransaction(of("perform")[0].tx);
    expect(tx!.maxFeePerGas).to.equal(cap);
  });

  it("retries a transient RPC failure with exponential backoff", async () => {
    const f = await loadFixture(crash);
    const flaky = flakyProvider(2);
    const { keeper, of, delays } = keeperFor(
      f,
      { retry: { attempts: 4, baseDelayMs: 100, maxDelayMs: 1_000 } },
      { provider: flaky.proxy },
    );
    const report = await keeper.runCycle();
    expect(flaky.failed()).to.equal(2);
    expect(delays).to.deep.equal([100, 200]);
    const retries = of("error");
    expect(retries.map((l) => [l.attempt, l.retryInMs, l.transient])).to.deep.equal([
      [1, 100, true],
      [2, 200, true],
    ]);
    expect(retries[0].message).to.match(/socket hang up/);
    expect(report.status).to.equal("done");
    expect(of("perform")[0].rebalanced).to.have.members([f.alice.address, f.carol.address]);
  });

  it("gives up after the bounded attempts and sends nothing", async () => {
    const f = await loadFixture(crash);
    const nonce = await ethers.provider.getTransactionCount(f.keeper.address);
    const { keeper, of, delays } = keeperFor(
      f,
      { retry: { attempts: 3, baseDelayMs: 10, maxDelayMs: 15 } },
      { provider: flakyProvider(Infinity).proxy },
    );
    const report = await keeper.runCycle();
    expect(report.status).to.equal("error");
    expect(delays).to.deep.equal([10, 15]);
    const errors = of("error");
    expect(errors).to.have.length(3);
    expect(errors[2]).to.include({ transient: true, stage: "update" });
    expect(errors[2]).not.to.have.property("retryInMs");
    expect(of("cycle")[0]).to.include({ status: "error" });
    expect(await ethers.provider.getTransactionCount(f.keeper.address)).to.equal(nonce);
  });

  it("does not send a perform that would revert", async () => {
    const f = await loadFixture(crash);
    await f.keeperContract.connect(f.deployer).setAllowListEnabled(true);
    const nonce = await ethers.provider.getTransactionCount(f.keeper.address);
    const { keeper, of } = keeperFor(f);
    const report = await keeper.runCycle();
    const [skip] = of("skip").filter((l) => l.target === "performUpkeep");
    expect(skip).to.include({ reason: "would-revert" });
    expect(skip.error).to.equal(`RebalanceKeeperUnauthorizedExecutor(caller=${f.keeper.address})`);
    expect(skip.rebalance).to.have.members([f.alice.address, f.carol.address]);
    expect(of("perform")).to.deep.equal([]);
    // Only the oracle updates went out.
    expect(report.sent).to.have.length(report.updates.length);
    expect(await ethers.provider.getTransactionCount(f.keeper.address)).to.equal(
      nonce + report.updates.length,
    );
    expect(await actionOf(f, f.alice.address)).to.equal(REBALANCE);
  });

  it("does not record a round the adapter holds back, and says so once", async () => {
    const f = await loadFixture(crash);
    await f.btcFeed.updateAnswer(answer(40_000)); // −33%: beyond the 3% deviation bound
    const { keeper, of } = keeperFor(f);
    await keeper.runCycle();
    expect(of("skip").find((l) => l.asset === "BTC")).to.include({
      reason: "price-status",
      target: "update",
      status: "Deviation",
      roundId: (await f.btcFeed.latestRound()).toString(),
    });
    expect(of("update").map((l) => l.asset)).to.deep.equal(["ETH"]);
    const [, , recorded] = await f.oracle.lastGoodPrice(BTC);
    expect(recorded).to.be.lessThan(await f.btcFeed.latestRound());
    const lines = of("skip").length;
    await keeper.runCycle();
    expect(of("skip")).to.have.length(lines);
  });

  it("logs accounts whose deleverage a systemic cap defers", async () => {
    const f = await loadFixture(crash);
    await f.engine.connect(f.riskAdmin).setDeleverageCap(ETH_MARKET, 1n, 3_600);
    const { keeper, of } = keeperFor(f);
    const report = await keeper.runCycle();
    expect(report.deferred).to.include(f.carol.address);
    expect(of("deferred").map((l) => l.account)).to.include(f.carol.address);
    expect(of("deferred")[0].block).to.equal(report.block);
  });

  it("runs on new blocks until stopped, then removes its listener", async () => {
    const f = await loadFixture(crash);
    const { keeper, of } = keeperFor(f, { pollIntervalMs: 60_000 });
    const running = keeper.run();
    const waitFor = async (check: () => boolean) => {
      for (let i = 0; i < 400 && !check(); i++) await new Promise((r) => setTimeout(r, 25));
      expect(check()).to.equal(true);
    };
    await waitFor(() => of("cycle").length >= 1);
    expect(of("cycle")[0].trigger).to.equal("start");
    await waitFor(() => of("perform").length >= 1);
    // A new round after the first cycles: the next block triggers a cycle that records it.
    await waitFor(() => of("cycle").length >= 2);
    await f.ethFeed.updateAnswer(answer(2_050));
    await waitFor(() => of("update").some((l) => l.price === "2050"));
    expect(of("cycle").some((l) => l.trigger === "block")).to.equal(true);
    keeper.stop();
    await running;
    expect(await ethers.provider.listenerCount("block")).to.equal(0);
  });

  it("runs as `hardhat keeper --once` on the deployment file, logging JSON lines to stdout", async () => {
    const f = await loadFixture(crash);
    const deployment = await writeFixtureDeployment(f);
    const chunks: string[] = [];
    const write = process.stdout.write;
    const error = console.error;
    process.stdout.write = ((chunk: string | Uint8Array) => {
      chunks.push(String(chunk));
      return true;
    }) as typeof process.stdout.write;
    console.error = () => undefined;
    let report;
    try {
      report = await hre.run("keeper", { once: true, json: true, signer: "5", pageSize: 2, deployment });
    } finally {
      process.stdout.write = write;
      console.error = error;
    }
    expect(report.status).to.equal("done");
    const lines: Line[] = chunks
      .join("")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    const perform = lines.find((l) => l.event === "perform")!;
    expect(perform.rebalanced).to.have.members([f.alice.address, f.carol.address]);
    expect(perform.liquidated).to.have.members([f.bob.address, f.dave.address]);
    expect(lines[lines.length - 1]).to.include({ event: "cycle", status: "done" });
    await expect(hre.run("keeper", { once: true, pageSize: 5000, deployment })).to.be.rejectedWith(
      /--page-size must be 1-2000/,
    );
  });
});
