import { Interface, isHexString, type ErrorFragment, type JsonFragment, type Result } from "ethers";

/**
 * Every custom error of every Ballast contract and library, and of the OpenZeppelin and Chainlink code
 * they build on, deduplicated by selector (the package's `abi/errors.json`).
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports
export const ballastErrorsAbi: readonly JsonFragment[] = require("../abi/errors.json");

let errorsInterface: Interface | undefined;
/** An ethers `Interface` holding every error of `ballastErrorsAbi`. */
export function ballastErrorsInterface(): Interface {
  errorsInterface ??= new Interface(ballastErrorsAbi as JsonFragment[]);
  return errorsInterface;
}

/** A decoded revert. */
export interface DecodedBallastError {
  /** Error name, e.g. `MarginEngineInsufficientMargin`; `Error` / `Panic` for the built-in ones. */
  name: string;
  /** Canonical signature, e.g. `MarginEngineInsufficientMargin(int256,uint256)`. */
  signature: string;
  /** The 4-byte selector, `0x`-prefixed. */
  selector: string;
  /** Decoded arguments, by position and, where the ABI names them, by name. */
  args: Result;
  fragment: ErrorFragment;
}

/** Finds the revert data in what a failed call threw (ethers errors nest it in a few places). */
function revertData(error: unknown, depth = 0): string | undefined {
  if (typeof error === "string") return isHexString(error) && error.length >= 10 ? error : undefined;
  if (error === null || typeof error !== "object" || depth > 4) return undefined;
  const e = error as Record<string, unknown>;
  for (const key of ["data", "error", "info", "cause", "revert"]) {
    const found = key in e ? revertData(e[key], depth + 1) : undefined;
    if (found !== undefined) return found;
  }
  return undefined;
}

/**
 * Decodes revert data (`0x6dd4d1ff…`), or the error a failed call or transaction threw, into the
 * Ballast (or OpenZeppelin, Chainlink, `Error(string)`, `Panic(uint256)`) error it encodes. Returns
 * `undefined` when there is no revert data or its selector is not one of them.
 */
export function decodeBallastError(dataOrError: unknown): DecodedBallastError | undefined {
  const data = revertData(dataOrError);
  if (data === undefined) return undefined;
  let parsed;
  try {
    parsed = ballastErrorsInterface().parseError(data);
  } catch {
    return undefined; // known selector, undecodable arguments
  }
  if (parsed === null) return undefined;
  return {
    name: parsed.name,
    signature: parsed.signature,
    selector: parsed.selector,
    args: parsed.args,
    fragment: parsed.fragment,
  };
}
