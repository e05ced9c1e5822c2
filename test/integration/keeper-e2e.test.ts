import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, setBalance, time } from "@nomicfoundation/hardhat-network-helpers";
import { AbiCoder, HDNodeWallet, parseEther, Wallet } from "ethers";
import { ETH, ETH_MARKET, answer, deployBallast, expectConservation, usdc, trade } from "../helpers/fixtures";

const WAD = 10n ** 18n;
const coder = AbiCoder.defaultAbiCoder();
const POLICIES = ["none", "threshold", "volatility"] as const;
const LEVERAGES = [2, 3, 5, 8, 10, 12, 15, 20];
const ACCOUNTS = 50;

/**
 * 50 accounts with a leverage ladder and a mix of policies; ETH then falls from 3,000 to 1,650 in
 * Chainlink-like rounds (≤ 1% each, a minute apart), and after every round a keeper pages
 * `checkUpkeep` and calls `performUpkeep`, as a live executor would.
 */
describe("Integration: keeper end to end through a crash", () => {
  async function book() {
    const f = await deployBallast();
    await f.pool.connect(f.lp).deposit(usdc(5_000_000), f.lp.address);
    const strategies = {
      threshold: await f.thresholdStrategy.getAddress(),
      volatility: await f.volatilityStrategy.getAddress(),
    };
    const accounts: { wallet: HDNodeWallet; policy: (typeof POLICIES)[number]; leverage: number }[] = [];
    for (let i = 0; i < ACCOUNTS; i++) {
      const wallet = Wallet.createRandom().connect(ethers.provider);
      await setBalance(wallet.address, parseEther("10"));
      const policy = POLICIES[i % 3];
      const leverage = LEVERAGES[i % LEVERAGES.length];
      const margin = usdc(10_000);
      await f.token.mint(wallet.address, usdc(20_000));
      await f.token.connect(wallet).approve(await f.vault.getAddress(), ethers.MaxUint256);
      await f.vault.connect(wallet).depositMargin(wallet.address, margin);
      if (policy !== "none") {
        await f.vault.connect(wallet).depositReserve(wallet.address, usdc(6_000));
        await f.engine.connect(wallet).setPolicy({
          triggerHealthWad: parseEther("1.3"),
          targetHealthWad: parseEther("1.6"),
          sweepHealthWad: 0n,
          allowTopUp: true,
          allowDeleverage: true,
          maxKeeperRewardTokens: usdc(5),
          strategy: strategies[policy],
        });
      }
      const size = (BigInt(leverage) * 10_000n * WAD) / 3_000n;
      await trade(f, wallet, ETH_MARKET, size);
      accounts.push({ wallet, policy, leverage });
    }
    return { ...f, accounts };
  }

  it("never liquidates an account whose reserve and permissions suffice; accounts without policy are", async () => {
    const f = await loadFixture(book);
    const liquidated = new Set<string>();
    const rebalanced = new Set<string>();
    let price = 3_000;
    let rounds = 0;
    while (price > 1_650) {
      price = Math.max(1_650, Math.round(price * 0.99 * 100) / 100);
      await time.increase(60);
      await f.ethFeed.updateAnswer(answer(price));
      await f.oracle.update(ETH);
      rounds++;
      // Scan every page against the same state first, then perform: performing reorders the active
      // list (closed accounts are swapped out), so interleaving would skip accounts.
      const count = Number(await f.engine.activeAccountCount());
      const batches: string[] = [];
      for (let start = 0; start < count; start += 25) {
        const [needed, data] = await f.keeperContract.checkUpkeep(
          coder.encode(["uint256", "uint256"], [start, 25]),
        );
        if (needed) batches.push(data);
      }
      for (const data of batches) {
        const receipt = await (await f.keeperContract.connect(f.keeper).performUpkeep(data)).wait();
        for (const log of receipt!.logs) {
          let parsed;
          try {
            parsed = f.engine.interface.parseLog(log);
          } catch {
            continue;
          }
          if (parsed?.name === "Liquidated") liquidated.add(parsed.args[0]);
          if (parsed?.name === "Rebalanced") rebalanced.add(parsed.args[0]);
          if (process.env.E2E_DEBUG && parsed?.name === "Liquidated") {
            const a = f.accounts.find((x) => x.wallet.address === parsed!.args[0])!;
            console.log("liquidated", a.policy, a.leverage, "at", price, parsed.args.map(String));
          }
        }
      }
    }
    await expectConservation(
      f,
      f.accounts.map((a) => a.wallet.address),
    );
    expect(rounds).to.be.greaterThan(50);
    for (const a of f.accounts) {
      if (a.policy !== "none") {
        expect(liquidated.has(a.wallet.address), `${a.policy} ${a.leverage}x liquidated`).to.equal(false);
      }
    }
    const unprotected = f.accounts.filter((a) => a.policy === "none" && a.leverage >= 3);
    for (const a of unprotected) {
      expect(liquidated.has(a.wallet.address), `none ${a.leverage}x survived a 45% fall`).to.equal(true);
    }
    expect(rebalanced.size).to.be.greaterThan(20);
  });
});
