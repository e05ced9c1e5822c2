import { expect } from "chai";
import fs from "fs";
import os from "os";
import path from "path";
import hre, { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { Network, parseEther } from "ethers";
import {
  BTC_MARKET,
  ETH,
  ETH_MARKET,
  answer,
  deployFunded,
  movePrice,
  publishRound,
  usdc,
} from "../helpers/fixtures";
import { defaultDeploymentDir, readDeployment, writeDeployment } from "../../tasks/lib/deployment";
import { ErrorDecoder, POLICY_BOUNDS, revertData, ROLE_NAMES, TaskError } from "../../tasks/lib/errors";
import { formatKeeperLine } from "../../tasks/lib/keeper";
import { writeFixtureDeployment } from "../helpers/deployment";
import { assertLocalChain, walkAnswers } from "../../tasks/feeds";
import { parseDecimal } from "../../tasks/lib/units";

/** The funded protocol plus an Ignition-style `deployed_addresses.json` the tasks are pointed at. */
async function deployed() {
  const f = await deployFunded();
  return { ...f, dir: await writeFixtureDeployment(f) };
}

/** Runs a task, capturing what it prints. */
async function run(name: string, args: Record<string, unknown>) {
  const lines: string[] = [];
  const original = console.log;
  console.log = (...parts: unknown[]) => void lines.push(parts.map(String).join(" "));
  try {
    const result = await hre.run(name, args);
    return { result, out: lines.join("\n") };
  } finally {
    console.log = original;
  }
}

/** Runs a task with `--json` and parses what it printed. */
async function runJson(name: string, args: Record<string, unknown>) {
  const { out } = await run(name, { ...args, json: true });
  return JSON.parse(out);
}

type Deployed = Awaited<ReturnType<typeof deployed>>;

/**
 * Trades through the order tasks: `submit-order`, a round at the same answer on the market's feed (after
 * the order), then `execute-order` by the first account. Returns what `execute-order --json` printed.
 */
async function orderTasks(f: Deployed, args: Record<string, unknown>) {
  const submitted = await runJson("submit-order", { ...args, deployment: f.dir });
  await publishRound(f, BigInt(submitted.marketId));
  return runJson("execute-order", { order: submitted.orderId, deployment: f.dir });
}

/** Alice long 10 ETH with a threshold policy and reserve, bob long 10 ETH on thin margin, carol safe. */
async function crashed() {
  const f = await loadFixture(deployed);
  const d = f.dir;
  await run("deposit-margin", { amount: "10000", account: "1", deployment: d });
  await run("deposit-reserve", { amount: "5000", account: "1", deployment: d });
  await orderTasks(f, { market: "ETH", size: "10", account: "1" });
  await run("set-policy", {
    strategy: "threshold",
    trigger: "1.5",
    target: "2",
    topUp: true,
    deleverage: true,
    maxReward: "5",
    account: "1",
    deployment: d,
  });
  await run("deposit-margin", { amount: "9500", account: "2", deployment: d });
  await orderTasks(f, { market: "ETH", size: "10", account: "2" });
  await run("deposit-margin", { amount: "30000", account: "3", deployment: d });
  await orderTasks(f, { market: "1", size: "10", account: "3" });
  await movePrice(f.ethFeed, 2_060);
  return f;
}

describe("Tasks", () => {
  describe("deployment lookup", () => {
    it("reads Ignition's folder for the chain id, preferring the module the network calls for", async () => {
      const root = fs.mkdtempSync(path.join(os.tmpdir(), "ballast-ignition-"));
      const dir = defaultDeploymentDir(root, 31337n);
      expect(dir).to.equal(path.join(root, "deployments", "chain-31337"));
      writeDeployment(dir, "Ballast", { engine: ethers.ZeroAddress.replace(/0$/, "1") });
      writeDeployment(path.join(root, "both"), "BallastLocal", {
        engine: "0x0000000000000000000000000000000000000002",
      });
      expect(readDeployment(dir).moduleId).to.equal("Ballast");
      const both = path.join(root, "both", "deployed_addresses.json");
      const raw = JSON.parse(fs.readFileSync(both, "utf8"));
      raw["Ballast#MarginEngine"] = "0x0000000000000000000000000000000000000003";
      fs.writeFileSync(both, JSON.stringify(raw));
      expect(readDeployment(both, true).addresses.engine).to.equal(
        "0x0000000000000000000000000000000000000002",
      );
      expect(readDeployment(both, false).addresses.engine).to.equal(
        "0x0000000000000000000000000000000000000003",
      );
      expect(() => readDeployment(path.join(root, "missing"))).to.throw(/no deployment at .*missing/);
    });

    it("finds the deployment through --deployment and refuses one without code on this network", async () => {
      const f = await loadFixture(deployed);
      const status = await runJson("account-status", { account: "1", deployment: f.dir });
      expect(status.account).to.equal(f.alice.address);
      const stale = fs.mkdtempSync(path.join(os.tmpdir(), "ballast-stale-"));
      writeDeployment(stale, "BallastLocal", { engine: "0x00000000000000000000000000000000000000aa" });
      await expect(run("account-status", { account: "1", deployment: stale })).to.be.rejectedWith(
        /no contract at BallastLocal#MarginEngine/,
      );
    });
  });

  describe("units", () => {
    it("parses decimals exactly and refuses what does not fit", () => {
      expect(parseDecimal("1000.5", 6, "--amount")).to.equal(1_000_500_000n);
      expect(parseDecimal("-2.25", 18, "--size", { signed: true })).to.equal(-2_250_000_000_000_000_000n);
      expect(() => parseDecimal("1.0000001", 6, "--amount")).to.throw(/more than 6 decimals/);
      expect(() => parseDecimal("-1", 6, "--amount")).to.throw(/must not be negative/);
      expect(() => parseDecimal("1e3", 6, "--amount")).to.throw(/not a decimal/);
      expect(() => parseDecimal("0", 6, "--amount")).to.throw(/must not be zero/);
    });
  });

  describe("errors", () => {
    it("decodes custom errors with enum names and WAD arguments, Error(string), Panic and bare reverts", async () => {
      const f = await loadFixture(deployed);
      const decoder = await ErrorDecoder.fromArtifacts(hre.artifacts);
      const plan = f.engine.interface.encodeErrorResult("MarginEngineInvalidPlan", [8]);
      expect(decoder.decode(plan)).to.deep.include({
        name: "MarginEngineInvalidPlan",
        args: { reason: "Overshoot" },
        message: "MarginEngineInvalidPlan(reason=Overshoot)",
      });
      const price = f.engine.interface.encodeErrorResult("MarginEngineBadPrice", [ETH, 1]);
      expect(decoder.decode(price).args).to.deep.equal({ asset: ETH, status: "Stale" });
      const health = f.engine.interface.encodeErrorResult("MarginEngineNotLiquidatable", [
        f.alice.address,
        parseEther("1.25"),
      ]);
      expect(decoder.decode(health).message).to.equal(
        `MarginEngineNotLiquidatable(account=${f.alice.address}, healthWad=1.25)`,
      );
      const reason = "0x08c379a0" + ethers.AbiCoder.defaultAbiCoder().encode(["string"], ["nope"]).slice(2);
      expect(decoder.decode(reason).message).to.equal('Error("nope")');
      const panic = "0x4e487b71" + ethers.AbiCoder.defaultAbiCoder().encode(["uint256"], [0x11]).slice(2);
      expect(decoder.decode(panic).message).to.equal("Panic(0x11)");
      expect(decoder.decode("0xdeadbeef").name).to.equal("unknown");
      expect(decoder.nameOf(plan.slice(0, 10))).to.equal("MarginEngineInvalidPlan");

      // Roles by name, token amounts in token units beside the raw integer, USD amounts beside raw WAD.
      const riskAdmin = ethers.id("RISK_ADMIN_ROLE");
      expect(ROLE_NAMES[riskAdmin]).to.equal("RISK_ADMIN_ROLE");
      const role = f.engine.interface.encodeErrorResult("MarginEngineUnauthorized", [
        f.alice.address,
        riskAdmin,
      ]);
      expect(decoder.decode(role).message).to.equal(
        `MarginEngineUnauthorized(caller=${f.alice.address}, role=RISK_ADMIN_ROLE)`,
      );
      decoder.token = { decimals: 6, symbol: "USDC" };
      const liquidity = f.engine.interface.encodeErrorResult("MarginEngineInsufficientPoolLiquidity", [
        usdc(10_000),
        usdc("2.5"),
      ]);
      expect(decoder.decode(liquidity).message).to.match(
        /^MarginEngineInsufficientPoolLiquidity\(requiredTokens=10000 USDC \(10000000000 raw\), availableTokens=2\.5 USDC \(2500000 raw\)\): the LiquidityPool's free liquidity/,
      );
      expect(decoder.decode(liquidity).args).to.deep.equal({
        requiredTokens: "10000000000",
        availableTokens: "2500000",
      });
      const margin = f.engine.interface.encodeErrorResult("MarginEngineInsufficientMargin", [
        parseEther("-1.5"),
        parseEther("1200"),
      ]);
      expect(decoder.decode(margin).message).to.equal(
        "MarginEngineInsufficientMargin(equityWad=-1.5 USD (-1500000000000000000 raw), requiredWad=1200 USD (1200000000000000000000 raw))",
      );

      // Where ethers and Hardhat put revert data.
      expect(revertData({ code: "CALL_EXCEPTION", data: plan })).to.equal(plan);
      expect(revertData({ message: "VM Exception", data: { message: "reverted", data: plan } })).to.equal(
        plan,
      );
      expect(revertData({ data: { message: "reverted without a reason string", data: "0x" } })).to.equal(
        "0x",
      );
      expect(revertData(Object.assign(new Error("socket hang up"), { code: "ECONNRESET" }))).to.equal(
        undefined,
      );
    });
  });

  describe("margin", () => {
    it("deposits margin, approving the vault when the allowance is short", async () => {
      const f = await loadFixture(deployed);
      await f.token.connect(f.alice).approve(await f.vault.getAddress(), 0);
      const out = await runJson("deposit-margin", { amount: "1000.5", account: "1", deployment: f.dir });
      expect(out).to.include({
        task: "deposit-margin",
        account: f.alice.address,
        amount: "1000.5",
        amountTokens: "1000500000",
        approved: true,
        margin: "1000.5",
        reserve: "0",
      });
      expect(out.tx).to.match(/^0x[0-9a-f]{64}$/);
      expect(await f.vault.marginOf(f.alice.address)).to.equal(usdc("1000.5"));
      // It approves exactly the amount, no more.
      expect(await f.token.allowance(f.alice.address, await f.vault.getAddress())).to.equal(0n);
      await f.token.connect(f.alice).approve(await f.vault.getAddress(), ethers.MaxUint256);
      const again = await runJson("deposit-margin", {
        amount: "1",
        account: f.alice.address,
        deployment: f.dir,
      });
      expect(again.approved).to.equal(false);
    });

    it("withdraws margin and moves reserve in and out, to another recipient when asked", async () => {
      const f = await loadFixture(deployed);
      await run("deposit-margin", { amount: "1000", account: "1", deployment: f.dir });
      await run("deposit-reserve", { amount: "500", account: "1", deployment: f.dir });
      expect(await f.vault.reserveOf(f.alice.address)).to.equal(usdc(500));
      const bobBefore = await f.token.balanceOf(f.bob.address);
      const out = await runJson("withdraw-margin", {
        amount: "400",
        account: "1",
        to: f.bob.address,
        deployment: f.dir,
      });
      expect(out).to.include({ to: f.bob.address, margin: "600" });
      expect(await f.token.balanceOf(f.bob.address)).to.equal(bobBefore + usdc(400));
      const { out: text } = await run("withdraw-reserve", { amount: "500", account: "1", deployment: f.dir });
      expect(text).to.match(/withdrew 500 USDC of reserve/);
      expect(await f.vault.reserveOf(f.alice.address)).to.equal(0n);
    });

    it("refuses, with the decoded error and without sending, what would revert", async () => {
      const f = await loadFixture(deployed);
      await run("deposit-margin", { amount: "100", account: "1", deployment: f.dir });
      const nonce = await ethers.provider.getTransactionCount(f.alice.address);
      await expect(
        run("withdraw-reserve", { amount: "1", account: "1", deployment: f.dir }),
      ).to.be.rejectedWith(
        /withdraw-reserve would revert: CollateralVaultInsufficientReserve\(account=0x[0-9a-fA-F]{40}, requestedTokens=1 USDC \(1000000 raw\), availableTokens=0 USDC \(0 raw\)\); nothing was sent/,
      );
      expect(await ethers.provider.getTransactionCount(f.alice.address)).to.equal(nonce);
      await expect(
        run("deposit-margin", { amount: "1.1234567", account: "1", deployment: f.dir }),
      ).to.be.rejectedWith(/more than 6 decimals/);
      await expect(
        run("deposit-margin", { amount: "1", account: "42", deployment: f.dir }),
      ).to.be.rejectedWith(/--account 42: network "hardhat" has \d+ accounts/);
    });
  });

  describe("positions", () => {
    it("opens long and short positions by market name or id, and reduces and closes them through orders", async () => {
      const f = await loadFixture(deployed);
      await run("deposit-margin", { amount: "100000", account: "1", deployment: f.dir });
      const submitted = await runJson("submit-order", {
        market: "eth",
        size: "2.5",
        account: "1",
        deployment: f.dir,
      });
      expect(submitted).to.include({ orderId: "1", market: "ETH", marketId: "1", sizeDelta: "2.5" });
      expect(submitted.acceptablePrice).to.equal(null);
      // Nothing fills before a round is published after the order.
      await expect(run("execute-order", { order: "1", deployment: f.dir })).to.be.rejectedWith(
        /execute-order would revert: MarginEngineOrderAwaitingRound\(orderId=1, .*\); nothing was sent$/,
      );
      await publishRound(f, ETH_MARKET);
      const opened = await runJson("execute-order", { order: "1", account: "5", deployment: f.dir });
      expect(opened).to.include({
        account: f.alice.address,
        market: "ETH",
        marketId: "1",
        sizeBefore: "0",
        size: "2.5",
        price: "3000",
      });
      expect(opened.fee).to.equal("3.75"); // 2.5 · 3,000 · 5 bp
      expect((await f.engine.position(f.alice.address, ETH_MARKET)).sizeWad).to.equal(parseEther("2.5"));

      await orderTasks(f, { market: "2", size: "-0.5", account: "1" });
      expect((await f.engine.position(f.alice.address, BTC_MARKET)).sizeWad).to.equal(parseEther("-0.5"));

      const reduced = await orderTasks(f, { market: "ETH", size: "-1", account: "1" });
      expect(reduced).to.include({ sizeBefore: "2.5", sizeDelta: "-1", size: "1.5" });
      await orderTasks(f, { market: "BTC", size: "0.2", account: "1" });
      expect((await f.engine.position(f.alice.address, BTC_MARKET)).sizeWad).to.equal(parseEther("-0.3"));
      const closed = await orderTasks(f, { market: "BTC", close: true, account: "1" });
      expect(closed).to.include({ sizeBefore: "-0.3", sizeDelta: "0.3", size: "0" });
      expect((await f.engine.position(f.alice.address, BTC_MARKET)).sizeWad).to.equal(0n);

      await expect(
        run("submit-order", { market: "ETH", account: "1", deployment: f.dir }),
      ).to.be.rejectedWith(/give either --size or --close/);
      await expect(
        run("submit-order", { market: "DOGE", size: "1", account: "1", deployment: f.dir }),
      ).to.be.rejectedWith(/--market DOGE: no such market; listed: ETH \(1\), BTC \(2\)/);
      await expect(
        run("submit-order", { market: "BTC", close: true, account: "1", deployment: f.dir }),
      ).to.be.rejectedWith(/submit-order would revert: MarginEngineNoPosition\(/);
    });

    it("cancels an order for its owner, refuses others, and reports orders that are no longer pending", async () => {
      const f = await loadFixture(deployed);
      await run("deposit-margin", { amount: "100000", account: "1", deployment: f.dir });
      const submitted = await runJson("submit-order", {
        market: "ETH",
        size: "1",
        acceptablePrice: "3100",
        account: "1",
        deployment: f.dir,
      });
      expect(submitted.acceptablePrice).to.equal("3100");
      await expect(
        run("cancel-order", { order: submitted.orderId, account: "2", deployment: f.dir }),
      ).to.be.rejectedWith(/cancel-order would revert: MarginEngineOrderNotCancellable\(/);
      const cancelled = await runJson("cancel-order", {
        order: submitted.orderId,
        account: "1",
        deployment: f.dir,
      });
      expect(cancelled).to.include({
        orderId: submitted.orderId,
        account: f.alice.address,
        by: f.alice.address,
      });
      await expect(run("execute-order", { order: submitted.orderId, deployment: f.dir })).to.be.rejectedWith(
        /order 1 is not pending/,
      );
      await expect(run("cancel-order", { order: "x", deployment: f.dir })).to.be.rejectedWith(
        /--order x: not an order id/,
      );
    });

    it("decodes the engine's error when margin does not cover the trade", async () => {
      const f = await loadFixture(deployed);
      await run("deposit-margin", { amount: "100", account: "1", deployment: f.dir });
      await expect(orderTasks(f, { market: "ETH", size: "10", account: "1" })).to.be.rejectedWith(
        /execute-order would revert: MarginEngineInsufficientMargin\(equityWad=.*, requiredWad=1200 USD \(1200000000000000000000 raw\)\); nothing was sent$/,
      );
    });
  });

  describe("policy", () => {
    it("sets a policy by strategy name and clears it", async () => {
      const f = await loadFixture(deployed);
      const out = await runJson("set-policy", {
        strategy: "volatility",
        trigger: "1.4",
        target: "1.8",
        sweep: "3",
        topUp: true,
        account: "1",
        deployment: f.dir,
      });
      expect(out.policy).to.deep.include({
        strategy: "volatility",
        trigger: "1.4",
        target: "1.8",
        sweep: "3",
        topUp: true,
        deleverage: false,
        maxReward: "1", // the engine's keeper reward when --max-reward is not given
      });
      const p = await f.engine.policyOf(f.alice.address);
      expect(p.strategy).to.equal(await f.volatilityStrategy.getAddress());
      expect(p.triggerHealthWad).to.equal(parseEther("1.4"));
      expect(p.sweepHealthWad).to.equal(parseEther("3"));
      expect(p.maxKeeperRewardTokens).to.equal(usdc(1));

      await run("clear-policy", { account: "1", deployment: f.dir });
      expect((await f.engine.policyOf(f.alice.address)).strategy).to.equal(ethers.ZeroAddress);
      await expect(run("clear-policy", { account: "1", deployment: f.dir })).to.be.rejectedWith(
        /MarginEngineNoPolicy/,
      );
    });

    it("refuses policies the engine would refuse, with its error", async () => {
      const f = await loadFixture(deployed);
      const base = { strategy: "threshold", trigger: "1.5", account: "1", deployment: f.dir };
      await expect(run("set-policy", { ...base, target: "1.52", topUp: true })).to.be.rejectedWith(
        /set-policy would revert: MarginEngineInvalidPolicy\(policy=\{.*"targetHealthWad":"1.52".*\}\): target 1\.52 is below trigger 1\.5 \+ MIN_POLICY_GAP 0\.05; nothing was sent$/,
      );
      await expect(
        run("set-policy", { ...base, trigger: "1", target: "12", sweep: "11", deleverage: true }),
      ).to.be.rejectedWith(
        /: trigger 1 must be above 1; target 12 is above MAX_POLICY_TARGET 4; sweep 11 is below target 12 \+ MIN_POLICY_GAP 0\.05 \(0 = never\); sweep 11 is above MAX_POLICY_HEALTH 10; nothing was sent$/,
      );
      await expect(
        run("set-policy", { ...base, trigger: "3.5", target: "3.6", deleverage: true }),
      ).to.be.rejectedWith(/: trigger 3\.5 is above MAX_POLICY_TRIGGER 3; nothing was sent$/);
      // The bounds the message names are the deployed engine's.
      const engine = f.engine;
      expect(POLICY_BOUNDS).to.deep.equal({
        minGapWad: await engine.MIN_POLICY_GAP(),
        maxTriggerWad: await engine.MAX_POLICY_TRIGGER(),
        maxTargetWad: await engine.MAX_POLICY_TARGET(),
        maxHealthWad: await engine.MAX_POLICY_HEALTH(),
      });
      await expect(run("set-policy", { ...base, target: "2" })).to.be.rejectedWith(
        /--top-up, --deleverage or both/,
      );
      await expect(
        run("set-policy", { ...base, target: "2", topUp: true, strategy: f.outsider.address }),
      ).to.be.rejectedWith(/is not approved by governance/);
    });
  });

  describe("account-status", () => {
    it("reports the lens view as JSON and as a table", async () => {
      const f = await crashed();
      const s = await runJson("account-status", { account: f.alice.address, deployment: f.dir });
      expect(s).to.include({
        account: f.alice.address,
        margin: "9985",
        reserve: "5000",
        pricesOk: true,
        action: "Rebalance",
      });
      expect(s.equity).to.equal("585");
      expect(s.maintenance).to.equal("412");
      expect(Number(s.health)).to.be.closeTo(585 / 412, 1e-9);
      expect(s.distanceToLiquidation).to.equal("173");
      expect(Number(s.hitProbability)).to.be.greaterThan(0);
      expect(s.netDollarDelta).to.equal("20600");
      expect(s.policy).to.include({ strategy: "threshold", trigger: "1.5", target: "2", maxReward: "5" });
      expect(s.plan.topUp).to.equal("240"); // G = 2·412 − (585 − 1)
      expect(s.markets).to.have.length(1);
      expect(s.markets[0]).to.include({
        asset: "ETH",
        size: "10",
        price: "2060",
        priceStatus: "Ok",
        unrealizedPnl: "-9400",
      });
      expect(Number(s.markets[0].liquidationPrice)).to.be.closeTo(2060 - 173 / 10 / 0.98, 0.01);

      const { out } = await run("account-status", { account: "1", deployment: f.dir });
      expect(out).to.match(/health 1\.4199/);
      expect(out).to.match(/now: Rebalance → health 2: top up 240 USDC/);
      expect(out).to.match(/ETH \(1\)\s+10\s+3,000\.00\s+2,060\.00\s+Ok/);

      const empty = await runJson("account-status", { account: f.outsider.address, deployment: f.dir });
      expect(empty).to.include({ health: null, action: "None", policy: null, plan: null });
    });
  });

  describe("rebalance and liquidate", () => {
    it("rebalances an account, then refuses a second rebalance without sending it", async () => {
      const f = await crashed();
      const out = await runJson("rebalance", { account: f.alice.address, signer: "5", deployment: f.dir });
      expect(out).to.include({ sent: true, caller: f.keeper.address, toppedUp: "240", keeperReward: "1" });
      expect(Number(out.healthAfter)).to.be.within(2, 2.0001);
      expect(await f.vault.reserveOf(f.alice.address)).to.equal(usdc(5_000 - 240));

      const nonce = await ethers.provider.getTransactionCount(f.keeper.address);
      const lines: string[] = [];
      const original = console.log;
      console.log = (s: string) => void lines.push(s);
      try {
        await expect(
          hre.run("rebalance", { account: f.alice.address, signer: "5", deployment: f.dir, json: true }),
        ).to.be.rejectedWith(/rebalance would revert: MarginEngineNothingToRebalance/);
      } finally {
        console.log = original;
      }
      expect(JSON.parse(lines.join("\n"))).to.deep.include({ sent: false });
      expect(JSON.parse(lines.join("\n")).error.name).to.equal("MarginEngineNothingToRebalance");
      expect(await ethers.provider.getTransactionCount(f.keeper.address)).to.equal(nonce);
    });

    it("liquidates an unhealthy account and refuses a healthy one", async () => {
      const f = await crashed();
      const out = await runJson("liquidate", { account: "2", deployment: f.dir });
      expect(out).to.include({ sent: true, liquidated: true, account: f.bob.address });
      expect(Number(out.closedNotional)).to.be.greaterThan(0);
      expect((await f.engine.position(f.bob.address, ETH_MARKET)).sizeWad).to.be.lessThan(parseEther("10"));

      const nonce = await ethers.provider.getTransactionCount(f.deployer.address);
      await expect(run("liquidate", { account: f.carol.address, deployment: f.dir })).to.be.rejectedWith(
        /liquidate would revert: MarginEngineNotLiquidatable\(account=0x[0-9a-fA-F]{40}, healthWad=[\d.]+\); nothing was sent/,
      );
      expect(await ethers.provider.getTransactionCount(f.deployer.address)).to.equal(nonce);
    });
  });

  describe("push-round", () => {
    it("pushes a round to the mock feed and records it in the adapter", async () => {
      const f = await loadFixture(deployed);
      const out = await runJson("push-round", { asset: "eth", price: "2950.5", deployment: f.dir });
      expect(out).to.include({
        asset: "ETH",
        price: "2950.5",
        answer: answer("2950.5").toString(),
        status: "Ok",
        recorded: true,
      });
      expect(await f.ethFeed.latestAnswer()).to.equal(answer("2950.5"));
      const [price, , round] = await f.oracle.lastGoodPrice(ETH);
      expect(price).to.equal(parseEther("2950.5"));
      expect(round).to.equal(await f.ethFeed.latestRound());
    });

    it("reports a jump the adapter holds back", async () => {
      const f = await loadFixture(deployed);
      const { result, out } = await run("push-round", { asset: "ETH", price: "1500", deployment: f.dir });
      expect(result).to.include({ status: "Deviation", recorded: false });
      expect(out).to.match(/deviation bound/);
    });

    it("with --walk publishes a fast move in rounds the adapter grades Ok, and records the last", async () => {
      const f = await loadFixture(deployed);
      const bound = (await f.oracle.feedConfig(ETH)).maxDeviationWad;
      const steps = walkAnswers(answer(3_000), answer(2_060), bound);
      expect(steps.at(-1)).to.equal(answer(2_060));
      let previous = answer(3_000);
      for (const a of steps) {
        expect((previous - a) * 10n ** 18n, "each step within two thirds of the bound").to.be.lte(
          (previous * bound * 2n) / 3n,
        );
        previous = a;
      }
      const before = await f.ethFeed.latestRound();
      const { result } = await run("push-round", {
        asset: "ETH",
        price: "2060",
        walk: true,
        deployment: f.dir,
      });
      expect(result).to.include({ status: "Ok", recorded: true, rounds: steps.length });
      expect(await f.ethFeed.latestRound()).to.equal(before + BigInt(steps.length));
      expect((await f.oracle.lastGoodPrice(ETH))[0]).to.equal(parseEther("2060"));
    });

    it("refuses any chain but 31337", async () => {
      const f = await loadFixture(deployed);
      expect(() => assertLocalChain(11155111n, "sepolia")).to.throw(
        /only runs on a local chain.*chainId 11155111/,
      );
      expect(() => assertLocalChain(31337n, "hardhat")).not.to.throw();
      const provider = hre.ethers.provider;
      const getNetwork = provider.getNetwork;
      provider.getNetwork = async () => new Network("sepolia", 11155111n);
      try {
        await expect(run("push-round", { asset: "ETH", price: "1", deployment: f.dir })).to.be.rejectedWith(
          /push-round only runs on a local chain/,
        );
      } finally {
        provider.getNetwork = getNetwork;
      }
      expect(await f.ethFeed.latestRound()).to.equal(1n);
    });
  });

  describe("pause", () => {
    it("pauses and unpauses a market, an action and everything", async () => {
      const f = await loadFixture(deployed);
      const out = await runJson("pause", { market: "ETH", deployment: f.dir });
      expect(out).to.include({ scope: "market", market: "ETH", marketId: "1", by: f.deployer.address });
      expect(await f.guardian.marketPaused(ETH_MARKET)).to.equal(true);
      await run("unpause", { market: "1", deployment: f.dir });
      expect(await f.guardian.marketPaused(ETH_MARKET)).to.equal(false);

      await run("pause", { action: "rebalance", signer: "6", deployment: f.dir }); // the guardian account
      expect(await f.guardian.actionPaused(4)).to.equal(true);
      await expect(
        run("unpause", { action: "rebalance", signer: "6", deployment: f.dir }),
      ).to.be.rejectedWith(
        /unpause action Rebalance would revert: AccessControlUnauthorizedAccount\(account=0x[0-9a-fA-F]{40}, neededRole=DEFAULT_ADMIN_ROLE\)/,
      );
      await run("unpause", { action: "Rebalance", deployment: f.dir });
      expect(await f.guardian.actionPaused(4)).to.equal(false);

      const { out: text } = await run("pause", { deployment: f.dir });
      expect(text).to.match(/paused everything/);
      expect(await f.guardian.globalPaused()).to.equal(true);
      await expect(run("pause", { deployment: f.dir })).to.be.rejectedWith(/PauseGuardianNoChange/);
      await run("unpause", { deployment: f.dir });
      expect(await f.guardian.globalPaused()).to.equal(false);
    });

    it("refuses unclear scopes", async () => {
      const f = await loadFixture(deployed);
      await expect(run("pause", { market: "ETH", action: "open", deployment: f.dir })).to.be.rejectedWith(
        /not both/,
      );
      await expect(run("pause", { action: "trade", deployment: f.dir })).to.be.rejectedWith(
        /--action "trade": use open, close, deposit, withdraw, rebalance, liquidate/,
      );
    });
  });
  describe("fund", () => {
    it("mints the mock token to accounts and seeds the pool with LP liquidity", async () => {
      const f = await loadFixture(deployed);
      const [bobBefore, poolBefore, sharesBefore] = await Promise.all([
        f.token.balanceOf(f.bob.address),
        f.pool.totalAssets(),
        f.pool.balanceOf(f.deployer.address),
      ]);
      const out = await runJson("fund", {
        accounts: `1, ${f.bob.address}`,
        amount: "2500.5",
        liquidity: "50000",
        deployment: f.dir,
      });
      expect(out.minted.map((m: { account: string }) => m.account)).to.deep.equal([
        f.alice.address,
        f.bob.address,
      ]);
      expect(out.minted[1]).to.include({ amount: "2500.5" });
      expect(await f.token.balanceOf(f.bob.address)).to.equal(bobBefore + usdc("2500.5"));
      expect(out.liquidity).to.include({ lp: f.deployer.address, amount: "50000" });
      expect(await f.pool.totalAssets()).to.equal(poolBefore + usdc(50_000));
      expect(await f.pool.balanceOf(f.deployer.address)).to.equal(
        sharesBefore + BigInt(out.liquidity.shares),
      );
      expect(BigInt(out.liquidity.shares)).to.be.greaterThan(0n);

      const { out: text } = await run("fund", { accounts: "3", liquidity: "0", deployment: f.dir });
      expect(text).to.match(
        /^minted 100000 USDC to 0x[0-9a-fA-F]{40} \(balance [\d.]+\)\nLiquidityPool holds [\d.]+ USDC$/,
      );
    });

    it("refuses any chain but 31337 and any token but the project's mock, sending nothing", async () => {
      const f = await loadFixture(deployed);
      const provider = hre.ethers.provider;
      const nonce = await provider.getTransactionCount(f.deployer.address);
      const getNetwork = provider.getNetwork;
      provider.getNetwork = async () => new Network("sepolia", 11155111n);
      try {
        await expect(run("fund", { deployment: f.dir })).to.be.rejectedWith(
          /^fund only runs on a local chain \(chainId 31337\); network "hardhat" has chainId 11155111: .*Nothing was sent\.$/,
        );
      } finally {
        provider.getNetwork = getNetwork;
      }
      const tokenAddress = (await f.token.getAddress()).toLowerCase();
      const getCode = provider.getCode.bind(provider);
      provider.getCode = async (address, tag) =>
        String(address).toLowerCase() === tokenAddress ? "0x6080604052" : getCode(address, tag);
      try {
        await expect(run("fund", { deployment: f.dir })).to.be.rejectedWith(
          /^fund only mints the project's MockUSDC; the vault's token 0x[0-9a-fA-F]{40} on "hardhat" has other code \(5 bytes\)\. Nothing was sent\.$/,
        );
      } finally {
        provider.getCode = getCode;
      }
      expect(await provider.getTransactionCount(f.deployer.address)).to.equal(nonce);
    });
  });

  describe("failures", () => {
    it("print the error as JSON with --json and reject with a one-line TaskError", async () => {
      const f = await loadFixture(deployed);
      const lines: string[] = [];
      const original = console.log;
      console.log = (s: string) => void lines.push(s);
      let error: unknown;
      try {
        await hre.run("deposit-margin", {
          amount: "1000000000",
          account: "1",
          deployment: f.dir,
          json: true,
        });
      } catch (e) {
        error = e;
      } finally {
        console.log = original;
      }
      expect(error).to.be.instanceOf(TaskError);
      const message = (error as Error).message;
      expect(message).to.match(/^deposit-margin: 0x[0-9a-fA-F]{40} holds [\d.]+ USDC, less than 1000000000$/);
      expect(JSON.parse(lines.join("\n"))).to.deep.equal({
        task: "deposit-margin",
        network: "hardhat",
        error: { message, name: "TaskError" },
      });
    });

    it("formats keeper log records for people with token amounts in token units", () => {
      const line = formatKeeperLine(
        {
          ts: "2026-01-01T00:00:00.000Z",
          event: "perform",
          batch: 1,
          rebalance: ["0xa", "0xb"],
          liquidate: [],
          error: "a b",
          rewardTokens: 104_050_000n,
          reward: "104.05 USDC",
        },
        { decimals: 6, symbol: "USDC" },
      );
      expect(line).to.equal(
        '2026-01-01T00:00:00.000Z perform batch=1 rebalance=0xa,0xb liquidate=- error="a b" reward=104.05 USDC (104050000 raw)',
      );
    });
  });
});
