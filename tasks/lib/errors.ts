import {
  AbiCoder,
  dataSlice,
  ErrorFragment,
  formatUnits,
  Interface,
  MaxUint256,
  ParamType,
  Result,
} from "ethers";
import { HardhatPluginError } from "hardhat/plugins";
import type { Artifacts } from "hardhat/types";
import { ENUMS } from "./enums";

/** A revert decoded against the protocol's ABIs. */
export interface DecodedError {
  /** Custom error name (`MarginEngineNotLiquidatable`), `Error`, `Panic`, or `unknown`. */
  name: string;
  /** First 4 bytes of the revert data ("0x" when there was none). */
  selector: string;
  /** Arguments by name, as strings (`*Wad` values as decimals, enums by name). */
  args: Record<string, unknown>;
  /** `Name(arg=value, …)`. */
  message: string;
  /** The raw revert data. */
  data: string;
}

/** An error a task reports to its user: Hardhat prints the message without a stack trace. */
export class TaskError extends HardhatPluginError {
  constructor(
    message: string,
    readonly decoded?: DecodedError,
  ) {
    super("ballast", message);
    Object.setPrototypeOf(this, TaskError.prototype);
  }
}

const ERROR_STRING = "0x08c379a0"; // Error(string)
const PANIC = "0x4e487b71"; // Panic(uint256)
const HEX = /^0x([0-9a-fA-F]{2})*$/;

interface AbiParam {
  name?: string;
  type: string;
  internalType?: string;
  components?: AbiParam[];
}
interface AbiEntry {
  type: string;
  name?: string;
  inputs?: AbiParam[];
}

/**
 * Decodes revert data into the custom error it encodes, with every error of the contracts' ABIs.
 * Build it once per process with `fromArtifacts` (all compiled contracts, enum names included) or
 * `fromInterfaces` (just the given contracts).
 */
export class ErrorDecoder {
  private readonly errors = new Map<string, { fragment: ErrorFragment; inputs: AbiParam[] }>();

  private constructor() {}

  /** Every custom error of every compiled artifact (interfaces, libraries and mocks included). */
  static async fromArtifacts(artifacts: Artifacts): Promise<ErrorDecoder> {
    const decoder = new ErrorDecoder();
    for (const name of await artifacts.getAllFullyQualifiedNames()) {
      decoder.add((await artifacts.readArtifact(name)).abi as AbiEntry[]);
    }
    return decoder;
  }

  /** The custom errors of the given ethers interfaces (no enum names: the interfaces lose them). */
  static fromInterfaces(interfaces: readonly Interface[]): ErrorDecoder {
    const decoder = new ErrorDecoder();
    for (const iface of interfaces) {
      iface.forEachError((f) => decoder.add([JSON.parse(f.format("json")) as AbiEntry]));
    }
    return decoder;
  }

  private add(abi: readonly AbiEntry[]) {
    for (const entry of abi) {
      if (entry.type !== "error") continue;
      const fragment = ErrorFragment.from(entry);
      if (!this.errors.has(fragment.selector)) {
        this.errors.set(fragment.selector, { fragment, inputs: entry.inputs ?? [] });
      }
    }
  }

  /** The error name of a 4-byte selector, or the selector itself when unknown. */
  nameOf(selector: string): string {
    if (selector === ERROR_STRING) return "Error";
    if (selector === PANIC) return "Panic";
    return this.errors.get(selector.toLowerCase())?.fragment.name ?? selector;
  }

  /** Decodes revert data. */
  decode(data: string): DecodedError {
    if (data === "0x" || data.length < 10) {
      return { name: "unknown", selector: "0x", args: {}, message: "reverted without data", data };
    }
    const selector = dataSlice(data, 0, 4).toLowerCase();
    const coder = AbiCoder.defaultAbiCoder();
    try {
      if (selector === ERROR_STRING) {
        const [reason] = coder.decode(["string"], dataSlice(data, 4));
        return { name: "Error", selector, args: { reason }, message: `Error("${reason}")`, data };
      }
      if (selector === PANIC) {
        const [code] = coder.decode(["uint256"], dataSlice(data, 4));
        const hex = `0x${(code as bigint).toString(16)}`;
        return { name: "Panic", selector, args: { code: hex }, message: `Panic(${hex})`, data };
      }
      const known = this.errors.get(selector);
      if (known !== undefined) {
        const values = coder.decode(known.fragment.inputs, dataSlice(data, 4));
        const args: Record<string, unknown> = {};
        known.fragment.inputs.forEach((p, i) => {
          args[p.name || `arg${i}`] = present(values[i], p, known.inputs[i]);
        });
        const list = Object.entries(args).map(
          ([k, v]) => `${k}=${typeof v === "object" ? JSON.stringify(v) : v}`,
        );
        return {
          name: known.fragment.name,
          selector,
          args,
          message: `${known.fragment.name}(${list.join(", ")})`,
          data,
        };
      }
    } catch {
      // malformed data for the selector: fall through to unknown
    }
    return { name: "unknown", selector, args: {}, message: `unknown error ${selector} (data ${data})`, data };
  }

  /** The decoded revert inside an error thrown by ethers or Hardhat, if it carries revert data. */
  describe(error: unknown): DecodedError | undefined {
    const data = revertData(error);
    return data === undefined ? undefined : this.decode(data);
  }
}

/**
 * Finds revert data in an error thrown by ethers (`CALL_EXCEPTION.data`) or a Hardhat provider
 * (`ProviderError.data.data`), searching the usual nesting (`error`, `info`, `cause`, `parent`).
 */
export function revertData(error: unknown, depth = 0): string | undefined {
  if (error === null || typeof error !== "object" || depth > 6) return undefined;
  const e = error as Record<string, unknown>;
  if (typeof e.data === "string" && HEX.test(e.data)) {
    // "0x" is a revert without data only when the error says it reverted.
    const reverted =
      e.code === "CALL_EXCEPTION" || (typeof e.message === "string" && /revert/i.test(e.message));
    if (e.data.length >= 10 || reverted) return e.data;
  }
  for (const key of ["data", "error", "info", "cause", "parent", "revert"]) {
    const found = revertData(e[key], depth + 1);
    if (found !== undefined) return found;
  }
  return undefined;
}

/** A short, one-line description of any thrown value. */
export function errorMessage(error: unknown): string {
  if (error instanceof Error) {
    const e = error as Error & { shortMessage?: string };
    return (e.shortMessage ?? e.message).split("\n")[0];
  }
  return String(error);
}

function present(value: unknown, param: ParamType, abi: AbiParam | undefined): unknown {
  const enumNames = abi?.internalType?.startsWith("enum ") ? ENUMS[abi.internalType.slice(5)] : undefined;
  if (enumNames !== undefined && typeof value === "bigint")
    return enumNames[Number(value)] ?? value.toString();
  if (param.baseType === "tuple" && value instanceof Result) {
    const out: Record<string, unknown> = {};
    param.components!.forEach((c, i) => {
      out[c.name || `field${i}`] = present(value[i], c, abi?.components?.[i]);
    });
    return out;
  }
  if (param.baseType === "array" && value instanceof Result) {
    return Array.from(value).map((v) => present(v, param.arrayChildren!, undefined));
  }
  if (typeof value === "bigint") {
    if (value === MaxUint256) return "max";
    if (param.name.endsWith("Wad")) return formatUnits(value, 18).replace(/\.0$/, "");
    return value.toString();
  }
  return value;
}
