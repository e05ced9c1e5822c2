import {
  AbiCoder,
  dataSlice,
  ErrorFragment,
  formatUnits,
  id,
  Interface,
  MaxUint256,
  ParamType,
  Result,
  ZeroHash,
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
  /** What the arguments mean, when the error says more than its name (e.g. which policy bound broke). */
  explanation?: string;
}

/**
 * An error a task reports to its user: one line, no stack trace (see `tasks/lib/cli.ts`). `details`
 * are added to the JSON object printed with `--json` (e.g. `{sent: false}`).
 */
export class TaskError extends HardhatPluginError {
  /** Set once the JSON form of this error has been printed, so that it is printed once. */
  reported = false;

  constructor(
    message: string,
    readonly decoded?: DecodedError,
    readonly details: Record<string, unknown> = {},
  ) {
    super("ballast", oneLine(message));
    Object.setPrototypeOf(this, TaskError.prototype);
  }

  /** The error as the JSON tasks print on failure: `{message, name, [selector, args, data, revert]}`. */
  toJSON(): Record<string, unknown> {
    const d = this.decoded;
    return {
      message: this.message,
      name: d?.name ?? "TaskError",
      ...(d === undefined
        ? {}
        : {
            selector: d.selector,
            args: d.args,
            revert: d.message,
            ...(d.explanation === undefined ? {} : { explanation: d.explanation }),
            data: d.data,
          }),
    };
  }
}

/**
 * Any thrown value as a `TaskError` with a one-line message: a `TaskError` as it is, anything else
 * (a Hardhat argument error, a file that cannot be read, an RPC failure) with its first line, the revert
 * it carries decoded when `decoder` is given, and the original kept as `cause`.
 */
export function toTaskError(error: unknown, decoder?: ErrorDecoder): TaskError {
  if (error instanceof TaskError) return error;
  const decoded = decoder?.describe(error);
  const message =
    decoded !== undefined && decoded.name !== "unknown"
      ? `${errorMessage(error)}: ${decoded.message}`
      : errorMessage(error);
  const wrapped = new TaskError(message, decoded);
  (wrapped as { cause?: unknown }).cause = error;
  return wrapped;
}

/** Collapses a message to its first non-empty line, trimmed. */
export function oneLine(message: string): string {
  const line = message
    .split(/\r?\n/)
    .map((l) => l.trim())
    .find((l) => l !== "");
  return line ?? "";
}

/** Names of the protocol's access-control roles by their hash (`ConstantsLib`, OpenZeppelin's admin). */
export const ROLE_NAMES: Record<string, string> = {
  [ZeroHash]: "DEFAULT_ADMIN_ROLE",
  [id("GUARDIAN_ROLE")]: "GUARDIAN_ROLE",
  [id("RISK_ADMIN_ROLE")]: "RISK_ADMIN_ROLE",
};

/**
 * `MarginEngine.MIN_POLICY_GAP`, `MAX_POLICY_TRIGGER`, `MAX_POLICY_TARGET` and `MAX_POLICY_HEALTH` (WAD),
 * the bounds `setPolicy` checks (a test compares them with the deployed engine's constants).
 */
export const POLICY_BOUNDS = {
  minGapWad: 5n * 10n ** 16n,
  maxTriggerWad: 3n * 10n ** 18n,
  maxTargetWad: 4n * 10n ** 18n,
  maxHealthWad: 10n * 10n ** 18n,
} as const;

/** How token amounts in errors are shown: `10000 USDC (10000000000 raw)`. */
export interface TokenUnits {
  decimals: number;
  symbol: string;
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
  /** The settlement token, for `*Tokens` arguments in messages; raw integers without it. */
  token?: TokenUnits;

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
        const list = Object.entries(args).map(([k, v]) => `${k}=${this.human(k, v)}`);
        const explanation = explain(known.fragment.name, values);
        return {
          name: known.fragment.name,
          selector,
          args,
          message:
            `${known.fragment.name}(${list.join(", ")})` +
            (explanation === undefined ? "" : `: ${explanation}`),
          data,
          ...(explanation === undefined ? {} : { explanation }),
        };
      }
    } catch {
      // malformed data for the selector: fall through to unknown
    }
    return { name: "unknown", selector, args: {}, message: `unknown error ${selector} (data ${data})`, data };
  }

  /**
   * An argument as people read it: token amounts (`*Tokens`) as `10000 USDC (10000000000 raw)`, USD
   * and other WAD amounts as `585 USD (585000000000000000000 raw)` (health and ratios as decimals only),
   * tuples as JSON.
   */
  private human(name: string, value: unknown): string {
    if (typeof value === "object" && value !== null) return JSON.stringify(value);
    const text = String(value);
    if (!/^-?\d+$/.test(text) && !/^-?\d+\.\d+$/.test(text)) return text;
    if (/Tokens$/.test(name) && this.token !== undefined && /^-?\d+$/.test(text)) {
      const amount = BigInt(text);
      return `${trimZero(formatUnits(amount, this.token.decimals))} ${this.token.symbol} (${text} raw)`;
    }
    if (/Wad$/.test(name) && !/health|ratio|share|factor|probability|deviation|volatility/i.test(name)) {
      const raw = decimalToWad(text);
      const unit = /price|equity|required|notional|pnl|value|debt|margin|delta/i.test(name) ? " USD" : "";
      return `${text}${unit} (${raw} raw)`;
    }
    return text;
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
    return oneLine(e.shortMessage ?? e.message);
  }
  return oneLine(String(error));
}

/** `formatUnits` leaves "1000.0" for whole numbers. */
function trimZero(s: string): string {
  return s.endsWith(".0") ? s.slice(0, -2) : s;
}

/** The raw WAD integer of a decimal `present` produced. */
function decimalToWad(text: string): string {
  const negative = text.startsWith("-");
  const [whole, fraction = ""] = (negative ? text.slice(1) : text).split(".");
  const raw = BigInt(whole) * 10n ** 18n + BigInt(fraction.padEnd(18, "0").slice(0, 18) || "0");
  return (negative && raw !== 0n ? "-" : "") + raw.toString();
}

/** Which rule an error's arguments broke, for the errors whose name alone does not say. */
function explain(name: string, values: Result): string | undefined {
  if (name === "MarginEngineInvalidPolicy")
    return policyViolations(values[0] as unknown as Parameters<typeof policyViolations>[0]);
  if (name === "MarginEngineInsufficientPoolLiquidity") {
    return "the LiquidityPool's free liquidity does not cover this trade: LPs must deposit first (on a local node: npx hardhat fund)";
  }
  return undefined;
}

/**
 * The bounds `MarginEngine.setPolicy` checks that `policy` breaks, e.g. "target 1.52 is below trigger
 * 1.5 + MIN_POLICY_GAP 0.05".
 */
export function policyViolations(policy: {
  triggerHealthWad: bigint;
  targetHealthWad: bigint;
  sweepHealthWad: bigint;
  allowTopUp: boolean;
  allowDeleverage: boolean;
}): string {
  const w = (v: bigint) => trimZero(formatUnits(v, 18));
  const { minGapWad, maxTriggerWad, maxTargetWad, maxHealthWad } = POLICY_BOUNDS;
  const trigger = BigInt(policy.triggerHealthWad);
  const target = BigInt(policy.targetHealthWad);
  const sweep = BigInt(policy.sweepHealthWad);
  const broken: string[] = [];
  if (trigger <= 10n ** 18n) broken.push(`trigger ${w(trigger)} must be above 1`);
  if (trigger > maxTriggerWad)
    broken.push(`trigger ${w(trigger)} is above MAX_POLICY_TRIGGER ${w(maxTriggerWad)}`);
  if (target < trigger + minGapWad) {
    broken.push(`target ${w(target)} is below trigger ${w(trigger)} + MIN_POLICY_GAP ${w(minGapWad)}`);
  }
  if (target > maxTargetWad) broken.push(`target ${w(target)} is above MAX_POLICY_TARGET ${w(maxTargetWad)}`);
  if (sweep !== 0n && sweep < target + minGapWad) {
    broken.push(
      `sweep ${w(sweep)} is below target ${w(target)} + MIN_POLICY_GAP ${w(minGapWad)} (0 = never)`,
    );
  }
  if (sweep > maxHealthWad) broken.push(`sweep ${w(sweep)} is above MAX_POLICY_HEALTH ${w(maxHealthWad)}`);
  if (!policy.allowTopUp && !policy.allowDeleverage) broken.push("neither top-up nor deleverage is allowed");
  return broken.length === 0 ? "no bound broken (strategy or engine rule)" : broken.join("; ");
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
  if (param.type === "bytes32" && typeof value === "string" && /role/i.test(param.name)) {
    return ROLE_NAMES[value.toLowerCase()] ?? value;
  }
  if (typeof value === "bigint") {
    if (value === MaxUint256) return "max";
    if (param.name.endsWith("Wad")) return formatUnits(value, 18).replace(/\.0$/, "");
    return value.toString();
  }
  return value;
}
