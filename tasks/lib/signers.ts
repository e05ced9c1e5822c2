import { getAddress, isAddress } from "ethers";
import type { HardhatRuntimeEnvironment } from "hardhat/types";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import { TaskError } from "./errors";

/**
 * The signer that sends a task's transactions: `spec` is an index into the network's configured
 * accounts ("0", "1", …) or one of their addresses; the first account when omitted.
 */
export async function resolveSigner(
  hre: HardhatRuntimeEnvironment,
  spec?: string,
  what = "--account",
): Promise<HardhatEthersSigner> {
  const signers = await hre.ethers.getSigners();
  if (signers.length === 0) {
    throw new TaskError(`network "${hre.network.name}" has no accounts: set DEPLOYER_PRIVATE_KEY`);
  }
  if (spec === undefined || spec === "") return signers[0];
  if (/^\d+$/.test(spec)) {
    const index = Number(spec);
    if (index >= signers.length) {
      throw new TaskError(`${what} ${spec}: network "${hre.network.name}" has ${signers.length} accounts`);
    }
    return signers[index];
  }
  if (isAddress(spec)) {
    const signer = signers.find((s) => s.address.toLowerCase() === spec.toLowerCase());
    if (signer === undefined) {
      throw new TaskError(`${what} ${spec} is not one of the accounts configured for "${hre.network.name}"`);
    }
    return signer;
  }
  throw new TaskError(`${what} "${spec}" is neither an account index nor an address`);
}

/** An account to read or act on: an address, or the index of a configured signer. */
export async function resolveAccount(hre: HardhatRuntimeEnvironment, spec: string, what = "--account") {
  if (isAddress(spec)) return getAddress(spec);
  if (/^\d+$/.test(spec)) return (await resolveSigner(hre, spec, what)).address;
  throw new TaskError(`${what} "${spec}" is neither an address nor an account index`);
}
