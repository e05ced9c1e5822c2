import { decodeBytes32String, encodeBytes32String } from "ethers";
import type { MarginEngine } from "../../typechain-types";
import { TaskError } from "./errors";

/** A listed market. */
export interface MarketRef {
  id: bigint;
  /** Asset name ("ETH"). */
  asset: string;
  /** Asset key as the oracle adapter knows it (bytes32). */
  assetKey: string;
}

/** "ETH" from its bytes32 key (the hex key when it is not a short string). */
export function assetName(key: string): string {
  try {
    return decodeBytes32String(key);
  } catch {
    return key;
  }
}

/** The bytes32 key of an asset name ("eth" → "ETH"). */
export function assetKey(name: string, what = "--asset"): string {
  const upper = name.trim().toUpperCase();
  if (upper === "" || Buffer.byteLength(upper) > 31)
    throw new TaskError(`${what}: "${name}" is not an asset name`);
  return encodeBytes32String(upper);
}

/** Every listed market, id ascending. */
export async function listMarkets(engine: MarginEngine): Promise<MarketRef[]> {
  const count = await engine.marketCount();
  const markets: MarketRef[] = [];
  for (let id = 1n; id <= count; id++) {
    const { asset } = await engine.marketConfig(id);
    markets.push({ id, asset: assetName(asset), assetKey: asset });
  }
  return markets;
}

/** A market given as its asset name ("ETH", any case) or its id ("1"). */
export async function resolveMarket(
  engine: MarginEngine,
  spec: string,
  what = "--market",
): Promise<MarketRef> {
  const markets = await listMarkets(engine);
  const listed = markets.map((m) => `${m.asset} (${m.id})`).join(", ") || "none";
  const text = spec.trim();
  const match = /^\d+$/.test(text)
    ? markets.find((m) => m.id === BigInt(text))
    : markets.find((m) => m.asset.toUpperCase() === text.toUpperCase());
  if (match === undefined) throw new TaskError(`${what} ${spec}: no such market; listed: ${listed}`);
  return match;
}
