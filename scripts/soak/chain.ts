import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { BaseContract, Contract, Interface, InterfaceAbi, JsonRpcProvider, toQuantity } from "ethers";
import { ROOT } from "./processes";

/** The ABI of a compiled contract, found by name under `artifacts/`. */
export function abiOf(name: string): InterfaceAbi {
  artifactIndex ??= indexArtifacts(join(ROOT, "artifacts"));
  const file = artifactIndex.get(name);
  if (file === undefined) throw new Error(`no artifact for ${name}: run \`npx hardhat compile\``);
  return JSON.parse(readFileSync(file, "utf8")).abi;
}

let artifactIndex: Map<string, string> | undefined;

function indexArtifacts(dir: string, index = new Map<string, string>()): Map<string, string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== "build-info") indexArtifacts(path, index);
    } else if (entry.name.endsWith(".json") && !entry.name.endsWith(".dbg.json")) {
      index.set(entry.name.slice(0, -".json".length), path);
    }
  }
  return index;
}

/** A read-only contract of the given compiled type. */
export function contractAt<T extends BaseContract>(
  name: string,
  address: string,
  provider: JsonRpcProvider,
): T {
  return new Contract(address, abiOf(name), provider) as unknown as T;
}

export interface SentTx {
  hash: string;
  from: string;
  what: string;
}

/**
 * Sends transactions through the node's `eth_sendTransaction` (unlocked or impersonated senders, so
 * nothing is signed here) and counts them.
 */
export class Sender {
  sent = 0;
  reverted: { hash: string; what: string; error: string }[] = [];

  constructor(readonly provider: JsonRpcProvider) {}

  async send(from: string, to: string, data: string, what: string, gas?: bigint): Promise<SentTx> {
    const tx: Record<string, string> = { from, to, data };
    if (gas !== undefined) tx.gas = toQuantity(gas);
    try {
      const hash: string = await this.provider.send("eth_sendTransaction", [tx]);
      this.sent++;
      return { hash, from, what };
    } catch (error) {
      // With automine on, Hardhat mines a reverting transaction and reports the revert here.
      this.sent++;
      const message = (error as Error).message;
      this.reverted.push({ hash: "", what, error: message.slice(0, 300) });
      throw new Error(`${what} reverted: ${message}`);
    }
  }

  /** The receipts of `txs`; records any with status 0. */
  async confirm(txs: SentTx[]): Promise<{ blockNumber: number; gasUsed: bigint }[]> {
    const receipts = await Promise.all(txs.map((t) => this.receipt(t.hash)));
    return receipts.map((r, i) => {
      if (r.status !== "0x1") {
        this.reverted.push({ hash: txs[i].hash, what: txs[i].what, error: "status 0" });
        throw new Error(`${txs[i].what} reverted (tx ${txs[i].hash})`);
      }
      return { blockNumber: Number(r.blockNumber), gasUsed: BigInt(r.gasUsed) };
    });
  }

  private async receipt(hash: string): Promise<{ status: string; blockNumber: string; gasUsed: string }> {
    for (let i = 0; ; i++) {
      const r = await this.provider.send("eth_getTransactionReceipt", [hash]);
      if (r !== null) return r;
      if (i > 200) throw new Error(`no receipt for ${hash}`);
      await new Promise((res) => setTimeout(res, 50));
    }
  }
}

/** Runs `fn` over `items` with at most `limit` calls in flight. */
export async function pool<T, R>(
  items: T[],
  limit: number,
  fn: (item: T, i: number) => Promise<R>,
): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

export const encode = (iface: Interface, fn: string, args: unknown[]) => iface.encodeFunctionData(fn, args);
