/**
 * Where a transaction's gas goes, by call frame: `debug_traceTransaction` (Hardhat's struct logger) folded
 * into a tree of calls, each with its inclusive gas (what the calling opcode's frame spent on it, the
 * call's own cost included) and its exclusive gas (inclusive less its children). Used by `npm run bench`
 * to print and save the trace of a top-up rebalance.
 */
import type { HardhatRuntimeEnvironment } from "hardhat/types";

interface StructLog {
  depth: number;
  gas: number;
  gasCost: number;
  op: string;
  stack?: string[];
}

export interface Frame {
  /** `CALL`, `STATICCALL` or `DELEGATECALL`, or `TX` for the transaction itself. */
  kind: string;
  /** The callee's name (from `names`), or its address. */
  to: string;
  /** Gas the frame spent in all, its call cost and children included. */
  inclusive: number;
  /** `inclusive` less the children's `inclusive`. */
  exclusive: number;
  children: Frame[];
}

const CALLS = new Set(["CALL", "STATICCALL", "DELEGATECALL", "CALLCODE"]);

/** The call tree of `txHash`; `names` maps lower-case addresses to names. `gasUsed`: the receipt's. */
export async function callTree(
  hre: HardhatRuntimeEnvironment,
  txHash: string,
  gasUsed: number,
  to: string,
  names: Record<string, string>,
): Promise<Frame> {
  const trace = (await hre.network.provider.send("debug_traceTransaction", [
    txHash,
    { disableStorage: true, disableMemory: true },
  ])) as { structLogs: StructLog[] };
  const logs = trace.structLogs;
  const name = (address: string) => names[address.toLowerCase()] ?? address;
  const root: Frame = { kind: "TX", to: name(to), inclusive: gasUsed, exclusive: 0, children: [] };
  // Open calls: the frame and the gas left before its opcode ran.
  const open: { frame: Frame; gasBefore: number; depth: number }[] = [];
  let parent = root;
  for (let i = 0; i < logs.length; i++) {
    const log = logs[i];
    while (open.length && log.depth <= open[open.length - 1].depth) {
      const done = open.pop()!;
      done.frame.inclusive = done.gasBefore - log.gas;
      parent = open.length ? open[open.length - 1].frame : root;
    }
    if (CALLS.has(log.op) && logs[i + 1]?.depth === log.depth + 1) {
      const stack = log.stack ?? [];
      const address =
        "0x" +
        BigInt("0x" + stack[stack.length - 2])
          .toString(16)
          .padStart(40, "0");
      const frame: Frame = { kind: log.op, to: name(address), inclusive: 0, exclusive: 0, children: [] };
      parent.children.push(frame);
      open.push({ frame, gasBefore: log.gas, depth: log.depth });
      parent = frame;
    }
  }
  const fill = (f: Frame) => {
    f.children.forEach(fill);
    f.exclusive = f.inclusive - f.children.reduce((s, c) => s + c.inclusive, 0);
  };
  fill(root);
  return root;
}

/** The tree as indented lines: inclusive and exclusive gas, call kind and callee. */
export function formatTree(frame: Frame, indent = ""): string[] {
  const line = `${indent}${frame.kind} ${frame.to}: ${frame.inclusive.toLocaleString("en-US")} (own ${frame.exclusive.toLocaleString("en-US")})`;
  return [line, ...frame.children.flatMap((c) => formatTree(c, indent + "  "))];
}
