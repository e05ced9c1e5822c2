import { types } from "hardhat/config";
import { defineTask } from "./lib/cli";
import type { HardhatRuntimeEnvironment } from "hardhat/types";
import { getAddress, isAddress } from "ethers";
import { loadBallast } from "./lib/context";
import { TaskError } from "./lib/errors";
import { CommonArgs, report, withCommonParams } from "./lib/output";
import { resolveSigner } from "./lib/signers";
import { simulateAndSend } from "./lib/tx";
import { formatTokens, parseTokens } from "./lib/units";

interface AmountArgs extends CommonArgs {
  amount: string;
  account?: string;
  to?: string;
}

type Kind = "deposit-margin" | "withdraw-margin" | "deposit-reserve" | "withdraw-reserve";

const DESCRIPTIONS: Record<Kind, string> = {
  "deposit-margin": "Deposits margin for the signer (approves the vault first when the allowance is short)",
  "withdraw-margin": "Withdraws margin; equity must still cover the initial requirement",
  "deposit-reserve": "Deposits reserve for the signer (approves the vault first when the allowance is short)",
  "withdraw-reserve": "Withdraws reserve (never paused, needs no price)",
};

for (const kind of Object.keys(DESCRIPTIONS) as Kind[]) {
  const t = defineTask(kind, DESCRIPTIONS[kind])
    .addParam("amount", 'Amount in token units, as a decimal ("1000.5")', undefined, types.string)
    .addOptionalParam(
      "account",
      "Signer: account index or address (default: the first account)",
      undefined,
      types.string,
    );
  if (kind.startsWith("withdraw")) {
    t.addOptionalParam("to", "Recipient (default: the signer)", undefined, types.string);
  }
  withCommonParams(t).setAction((args: AmountArgs, hre) => moveFunds(hre, kind, args));
}

async function moveFunds(hre: HardhatRuntimeEnvironment, kind: Kind, args: AmountArgs) {
  const signer = await resolveSigner(hre, args.account);
  const b = await loadBallast(hre, args.deployment, signer);
  const amount = parseTokens(args.amount, b.tokenDecimals);
  const fmt = (v: bigint) => formatTokens(v, b.tokenDecimals);
  const vaultAddress = await b.vault.getAddress();
  let approved = false;
  let to: string | undefined;

  let receipt;
  if (kind.startsWith("deposit")) {
    const balance = await b.token.balanceOf(signer.address);
    if (balance < amount) {
      throw new TaskError(
        `${kind}: ${signer.address} holds ${fmt(balance)} ${b.tokenSymbol}, less than ${args.amount}`,
      );
    }
    if ((await b.token.allowance(signer.address, vaultAddress)) < amount) {
      await simulateAndSend(b.decoder, "approve", b.token.approve, vaultAddress, amount);
      approved = true;
    }
    const method = kind === "deposit-margin" ? b.vault.depositMargin : b.vault.depositReserve;
    receipt = await simulateAndSend(b.decoder, kind, method, signer.address, amount);
  } else {
    if (args.to !== undefined && !isAddress(args.to))
      throw new TaskError(`--to "${args.to}" is not an address`);
    to = args.to === undefined ? signer.address : getAddress(args.to);
    receipt =
      kind === "withdraw-margin"
        ? await simulateAndSend(b.decoder, kind, b.engine.withdrawMargin, amount, to)
        : await simulateAndSend(b.decoder, kind, b.vault.withdrawReserve, amount, to);
  }

  const [margin, reserve] = await b.vault.balancesOf(signer.address);
  const data = {
    task: kind,
    network: hre.network.name,
    account: signer.address,
    ...(to === undefined ? {} : { to }),
    amount: fmt(amount),
    amountTokens: amount.toString(),
    approved,
    tx: receipt.hash,
    gasUsed: receipt.gasUsed.toString(),
    margin: fmt(margin),
    reserve: fmt(reserve),
  };
  const verb = kind.startsWith("deposit") ? "deposited" : "withdrew";
  const what = kind.endsWith("margin") ? "margin" : "reserve";
  return report(args.json, data, () => [
    ...(approved ? [`approved the vault for ${data.amount} ${b.tokenSymbol}`] : []),
    `${signer.address} ${verb} ${data.amount} ${b.tokenSymbol} of ${what}` +
      (to !== undefined && to !== signer.address ? ` to ${to}` : "") +
      ` (tx ${receipt.hash}, gas ${receipt.gasUsed})`,
    `margin ${data.margin} ${b.tokenSymbol}, reserve ${data.reserve} ${b.tokenSymbol}`,
  ]);
}
