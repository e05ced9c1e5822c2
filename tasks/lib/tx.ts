import type { ContractTransactionReceipt, ContractTransactionResponse } from "ethers";
import { ErrorDecoder, errorMessage, TaskError } from "./errors";

/** A TypeChain method that can be simulated and sent. */
export interface Sendable {
  staticCall(...args: any[]): Promise<unknown>; // eslint-disable-line @typescript-eslint/no-explicit-any
  send(...args: any[]): Promise<ContractTransactionResponse>; // eslint-disable-line @typescript-eslint/no-explicit-any
}

/**
 * Simulates `method(...args)` with `staticCall` from the method's signer and, only when that succeeds,
 * sends it and waits for the receipt. A revert, simulated or real, becomes a `TaskError` naming the
 * decoded custom error; nothing is sent when the simulation reverts.
 */
export async function simulateAndSend(
  decoder: ErrorDecoder,
  label: string,
  method: Sendable,
  ...args: unknown[]
): Promise<ContractTransactionReceipt> {
  await simulate(decoder, label, method, ...args);
  let receipt: ContractTransactionReceipt | null;
  try {
    receipt = await (await method.send(...args)).wait();
  } catch (error) {
    const decoded = decoder.describe(error);
    if (decoded !== undefined) throw new TaskError(`${label} reverted: ${decoded.message}`, decoded);
    throw new TaskError(`${label} failed: ${errorMessage(error)}`);
  }
  if (receipt === null) throw new TaskError(`${label}: no receipt`);
  return receipt;
}

/** `staticCall` that turns a revert into a `TaskError` with the decoded custom error. */
export async function simulate(decoder: ErrorDecoder, label: string, method: Sendable, ...args: unknown[]) {
  try {
    return await method.staticCall(...args);
  } catch (error) {
    const decoded = decoder.describe(error);
    if (decoded !== undefined) {
      throw new TaskError(`${label} would revert: ${decoded.message}; nothing was sent`, decoded);
    }
    throw new TaskError(`${label} could not be simulated: ${errorMessage(error)}`);
  }
}
