import { types } from "hardhat/config";
import type { HardhatRuntimeEnvironment } from "hardhat/types";
import { defineTask } from "./lib/cli";
import { loadBallast } from "./lib/context";
import { TaskError } from "./lib/errors";
import { CommonArgs, report, withCommonParams } from "./lib/output";
import { resolveSigner } from "./lib/signers";
import { simulateAndSend } from "./lib/tx";
import { formatTokens, parseDecimal } from "./lib/units";
import { LOCAL_CHAIN_ID } from "./feeds";

interface FundArgs extends CommonArgs {
  accounts: string;
  amount: string;
  liquidity: string;
  lp?: string;
}

/** The local mock the tasks may mint: `contracts/mocks/MockUSDC.sol`, deployed by `BallastLocal`. */
export const MOCK_TOKEN = "MockUSDC";

/** `fund` mints: it refuses any chain but the local one before reading anything. */
export function assertFundableChain(chainId: bigint, network: string) {
  if (chainId !== LOCAL_CHAIN_ID) {
    throw new TaskError(
      `fund only runs on a local chain (chainId ${LOCAL_CHAIN_ID}); network "${network}" has chainId ` +
        `${chainId}: get the settlement token there from its issuer or a faucet. Nothing was sent.`,
    );
  }
}

/**
 * Refuses any token but the project's mock: only the mock lets anyone mint. The token's deployed code
 * must be exactly `MockUSDC`'s.
 */
export async function assertMockToken(hre: HardhatRuntimeEnvironment, token: string): Promise<void> {
  const artifact = await hre.artifacts.readArtifact(MOCK_TOKEN);
  const code = await hre.ethers.provider.getCode(token);
  if (code.toLowerCase() !== artifact.deployedBytecode.toLowerCase()) {
    throw new TaskError(
      `fund only mints the project's ${MOCK_TOKEN}; the vault's token ${token} on "${hre.network.name}" has ` +
        `other code (${code === "0x" ? "none" : `${(code.length - 2) / 2} bytes`}). Nothing was sent.`,
    );
  }
}

withCommonParams(
  defineTask(
    "fund",
    "Local chains only: mints mock USDC to accounts and seeds the LiquidityPool with LP liquidity",
  )
    .addOptionalParam(
      "accounts",
      "Accounts to mint to: comma-separated indexes or addresses",
      "1,2,3,4,5",
      types.string,
    )
    .addOptionalParam("amount", "Tokens minted to each account, as a decimal", "100000", types.string)
    .addOptionalParam(
      "liquidity",
      "Tokens the LP mints and deposits into the LiquidityPool (0: none)",
      "1000000",
      types.string,
    )
    .addOptionalParam(
      "lp",
      "LP account: index or address (default: the first account)",
      undefined,
      types.string,
    ),
).setAction((args: FundArgs, hre) => fund(hre, args));

async function fund(hre: HardhatRuntimeEnvironment, args: FundArgs) {
  const { chainId } = await hre.ethers.provider.getNetwork();
  assertFundableChain(chainId, hre.network.name);
  const lp = await resolveSigner(hre, args.lp, "--lp");
  const b = await loadBallast(hre, args.deployment, lp);
  const tokenAddress = await b.token.getAddress();
  await assertMockToken(hre, tokenAddress);
  const amount = parseDecimal(args.amount, b.tokenDecimals, "--amount", { allowZero: true });
  const liquidity = parseDecimal(args.liquidity, b.tokenDecimals, "--liquidity", { allowZero: true });
  const specs = args.accounts
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
  const fmt = (v: bigint) => formatTokens(v, b.tokenDecimals);
  const mock = await hre.ethers.getContractAt(MOCK_TOKEN, tokenAddress, lp);

  const minted: { account: string; amount: string; balance: string; tx: string }[] = [];
  if (amount > 0n) {
    for (const spec of specs) {
      const account = (await resolveSigner(hre, spec, "--accounts")).address;
      const receipt = await simulateAndSend(b.decoder, `mint to ${account}`, mock.mint, account, amount);
      minted.push({
        account,
        amount: fmt(amount),
        balance: fmt(await b.token.balanceOf(account)),
        tx: receipt.hash,
      });
    }
  }

  let deposited: { lp: string; amount: string; shares: string; txs: string[] } | null = null;
  if (liquidity > 0n) {
    const poolAddress = await b.pool.getAddress();
    const txs: string[] = [];
    txs.push((await simulateAndSend(b.decoder, "mint to the LP", mock.mint, lp.address, liquidity)).hash);
    if ((await b.token.allowance(lp.address, poolAddress)) < liquidity) {
      txs.push(
        (await simulateAndSend(b.decoder, "approve the pool", mock.approve, poolAddress, liquidity)).hash,
      );
    }
    const sharesBefore = await b.pool.balanceOf(lp.address);
    txs.push((await simulateAndSend(b.decoder, "LP deposit", b.pool.deposit, liquidity, lp.address)).hash);
    const shares = (await b.pool.balanceOf(lp.address)) - sharesBefore;
    deposited = { lp: lp.address, amount: fmt(liquidity), shares: shares.toString(), txs };
  }

  const data = {
    task: "fund",
    network: hre.network.name,
    token: tokenAddress,
    minted,
    liquidity: deposited,
    poolAssets: fmt(await b.pool.totalAssets()),
  };
  return report(args.json, data, () => [
    ...minted.map((m) => `minted ${m.amount} ${b.tokenSymbol} to ${m.account} (balance ${m.balance})`),
    ...(deposited === null
      ? []
      : [
          `${deposited.lp} deposited ${deposited.amount} ${b.tokenSymbol} of LP liquidity (${deposited.shares} shares)`,
        ]),
    `LiquidityPool holds ${data.poolAssets} ${b.tokenSymbol}`,
  ]);
}
