import { parseEther } from "ethers";
import { ETH_MARKET, deployFunded, movePrice, usdc } from "./helpers/fixtures";
import { ScriptedStrategy__factory } from "../typechain-types";
it("gas probe", async () => {
  const f = await deployFunded();
  const strategy = await new ScriptedStrategy__factory(f.deployer).deploy();
  await f.engine.setStrategyApproval(strategy, true);
  await f.engine.connect(f.riskAdmin).setKeeperReward(usdc(2));
  await f.vault.connect(f.alice).depositMargin(f.alice.address, usdc(10_000));
  await f.vault.connect(f.alice).depositReserve(f.alice.address, usdc(5_000));
  await f.vault.connect(f.keeper).depositMargin(f.keeper.address, usdc(1));
  let r = await (await f.engine.connect(f.alice).modifyPosition(ETH_MARKET, parseEther("10"))).wait();
  console.log("open", r!.gasUsed);
  await f.engine.connect(f.alice).setPolicy({ triggerHealthWad: parseEther("1.5"), targetHealthWad: parseEther("2"), sweepHealthWad: 0n, allowTopUp: true, allowDeleverage: true, maxKeeperRewardTokens: usdc(5), strategy: await strategy.getAddress() });
  await movePrice(f.ethFeed, 2_060);
  await strategy.setPlan(parseEther("2"), usdc(241), [], 0);
  await f.oracle.update(ethers.encodeBytes32String("ETH"));
  r = await (await f.engine.connect(f.keeper).rebalance(f.alice.address)).wait();
  console.log("topup", r!.gasUsed);
  const names: Record<string,string> = {};
  for (const [k, c] of Object.entries(f)) { if (c && typeof c === "object" && "getAddress" in (c as any)) names[(await (c as any).getAddress()).toLowerCase()] = k; }
  console.log(names);
  await profile(r!.hash);
});
import { ethers, network } from "hardhat";
export async function profile(hash: string) {
  const trace: any = await network.provider.send("debug_traceTransaction", [hash, { disableStorage: true, disableMemory: true, disableStack: false }]);
  const logs = trace.structLogs;
  const out: string[] = [];
  const counts: Record<string, number> = {};
  for (let i = 0; i < logs.length; i++) {
    const l = logs[i];
    if (l.depth === 2) counts[l.op] = (counts[l.op] ?? 0) + (i + 1 < logs.length && logs[i+1].depth === l.depth ? l.gas - logs[i + 1].gas : l.gasCost);
    if (["CALL", "STATICCALL", "DELEGATECALL"].includes(l.op)) {
      const to = "0x" + l.stack[l.stack.length - 2].slice(-40);
      let j = i + 1;
      while (j < logs.length && logs[j].depth > l.depth) j++;
      const used = l.gas - (logs[j]?.gas ?? 0);
      out.push(`${"  ".repeat(l.depth - 1)}${l.op} ${to} used=${used}`);
    }
  }
  console.log(out.join("\n"));
  const top = Object.entries(counts).sort((a, b) => b[1] - a[1]).slice(0, 12);
  console.log(top.map(([k, v]) => `${k}:${v}`).join(" "));
}
