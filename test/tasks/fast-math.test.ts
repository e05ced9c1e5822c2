import { expect } from "chai";
import hre, { ethers } from "hardhat";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { BaseContract, ContractTransactionResponse } from "ethers";

import BallastLocalModule from "../../ignition/modules/BallastLocal";
import { DEFAULTS, ETH } from "../../ignition/modules/core";
import * as oracleModel from "../../tasks/lib/fast/oracle";
import * as risk from "../../tasks/lib/fast/riskMath";
import * as solady from "../../tasks/lib/fast/solady";
import * as vol from "../../tasks/lib/fast/volatilityMath";
import { Rng } from "../helpers/rng";
import * as wad from "../../tasks/lib/fast/wad";
import { readPriceCsv } from "../../tasks/lib/sim/prices";
import type {
  ChainlinkOracleAdapter,
  MockV3Aggregator,
  RiskMathHarness,
  VolatilityMathHarness,
  WadMathHarness,
} from "../../typechain-types";

/*
 * The fast engine's BigInt ports against the contracts, to the wei: solady's `FixedPointMathLib`
 * (`solady.ts`, through a probe contract compiled here from the pinned solady sources), `RiskMath`
 * (`riskMath.ts`, `RiskMathHarness`), `VolatilityMath` (`volatilityMath.ts`, `VolatilityMathHarness`),
 * `WadMath` (`wad.ts`, `WadMathHarness`), and the `ChainlinkOracleAdapter` model (`oracle.ts`) replaying a
 * Black Thursday price series with injected jumps, bad answers, stale gaps and configuration changes on
 * the adapter the backtest deploys.
 *
 * Every input the port evaluates is sent to the contract (in batches) and must give the same value; every
 * input the port rejects is sent on its own (up to MAX_REVERTS per function, spread over all of them) and
 * must revert with the same error. Inputs come from a seeded generator, so every run checks the same ones.
 */

const WAD = 10n ** 18n;
const MAX_UINT256 = 2n ** 256n - 1n;
const MAX_INT256 = 2n ** 255n - 1n;
const MIN_INT256 = -(2n ** 255n);
const BATCH = 400;
const MAX_REVERTS = 120;
const PANIC_SELECTOR = ethers.id("Panic(uint256)").slice(0, 10);

// ------------------------------------------------------------------------------------------------
// Inputs
// ------------------------------------------------------------------------------------------------

/**
 * x = ⌊z² / 1e18⌋ and its neighbours for z of 128 to 157 bits: x·1e18 lies just below a perfect square,
 * where `sqrtWad`'s large-argument branch (x > 2²⁵⁶ / 1e18) needs its final correction.
 */
function nearWadSquares(rng: Rng, n: number): bigint[] {
  return times(n, () => rng.between(1n << 128n, 1n << 157n) ** 2n / WAD)
    .flatMap((x) => [x - 1n, x, x + 1n])
    .filter((x) => x <= MAX_UINT256);
}

/** A real number as the nearest WAD integer. */
const toWad = (v: number): bigint => BigInt(Math.round(v * 1e18));

/** `n` inputs from `make`. */
const times = <T>(n: number, make: () => T): T[] => Array.from({ length: n }, make);

// ------------------------------------------------------------------------------------------------
// Differential driver
// ------------------------------------------------------------------------------------------------

type Outcome = { ok: true; value: bigint } | { ok: false; selector: string; code?: bigint };

/** The port's result, or the revert it throws (any other exception is a bug and propagates). */
function portOutcome(run: () => bigint): Outcome {
  try {
    return { ok: true, value: run() };
  } catch (error) {
    if (!(error instanceof solady.Revert)) throw error;
    const selector = ethers.id(error.signature).slice(0, 10);
    return error.code === undefined ? { ok: false, selector } : { ok: false, selector, code: error.code };
  }
}

/** The revert a contract call failed with (the selector, and the code of a panic). */
function revertOf(error: unknown): Outcome {
  const data = (error as { data?: unknown }).data;
  if (typeof data !== "string" || data.length < 10) throw error;
  const selector = data.slice(0, 10);
  return selector === PANIC_SELECTOR
    ? { ok: false, selector, code: BigInt("0x" + data.slice(10)) }
    : { ok: false, selector };
}

const bigintJson = (_: string, v: unknown) => (typeof v === "bigint" ? v.toString() : v);
const show = (args: unknown[]) => args.map((a) => String(a)).join(", ");

/**
 * Compares `port` with `chain` (a batch function: one result per argument tuple) on every input. Returns
 * how many inputs were evaluated and how many reverted.
 */
async function differential<A extends unknown[]>(
  inputs: A[],
  port: (...args: A) => bigint,
  chain: (batch: A[]) => Promise<bigint[]>,
): Promise<{ evaluated: number; reverted: number }> {
  const outcomes = inputs.map((args) => portOutcome(() => port(...args)));
  const evaluated = inputs.filter((_, i) => outcomes[i].ok);
  const expected = outcomes.filter((o) => o.ok).map((o) => (o as { value: bigint }).value);
  for (let start = 0; start < evaluated.length; start += BATCH) {
    const batch = evaluated.slice(start, start + BATCH);
    let got: bigint[];
    try {
      got = await chain(batch);
    } catch (error) {
      // Find the input the contract rejected but the port evaluated.
      for (const args of batch) {
        const single = await chain([args]).then(
          () => undefined,
          (e: unknown) => e,
        );
        if (single)
          expect.fail(
            `(${show(args)}): port evaluated, contract reverted ${JSON.stringify(revertOf(single), bigintJson)}`,
          );
      }
      throw error;
    }
    for (let i = 0; i < batch.length; i++) {
      if (got[i] !== expected[start + i]) {
        expect.fail(`(${show(batch[i])}): contract ${got[i]}, port ${expected[start + i]}`);
      }
    }
  }
  const rejected = inputs.filter((_, i) => !outcomes[i].ok);
  const rejectedOutcomes = outcomes.filter((o) => !o.ok);
  const step = Math.max(1, Math.ceil(rejected.length / MAX_REVERTS));
  for (let i = 0; i < rejected.length; i += step) {
    const result = await chain([rejected[i]]).then(
      (values): Outcome => ({ ok: true, value: values[0] }),
      (error: unknown) => revertOf(error),
    );
    expect(result, `(${show(rejected[i])})`).to.deep.equal(rejectedOutcomes[i]);
  }
  return { evaluated: evaluated.length, reverted: rejected.length };
}

/** The columns of a list of argument tuples. */
function column<A extends unknown[], K extends number>(batch: A[], k: K): A[K][] {
  return batch.map((args) => args[k]);
}

// ------------------------------------------------------------------------------------------------
// solady probe: FixedPointMathLib's functions over arrays, compiled from the pinned sources
// ------------------------------------------------------------------------------------------------

const PROBE_SOURCE = `// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {FixedPointMathLib as F} from "solady/src/utils/FixedPointMathLib.sol";

contract SoladyProbe {
    function lnWad(int256[] calldata x) external pure returns (int256[] memory r) {
        r = new int256[](x.length);
        for (uint256 i; i < x.length; ++i) r[i] = F.lnWad(x[i]);
    }
    function expWad(int256[] calldata x) external pure returns (int256[] memory r) {
        r = new int256[](x.length);
        for (uint256 i; i < x.length; ++i) r[i] = F.expWad(x[i]);
    }
    function sqrt(uint256[] calldata x) external pure returns (uint256[] memory r) {
        r = new uint256[](x.length);
        for (uint256 i; i < x.length; ++i) r[i] = F.sqrt(x[i]);
    }
    function sqrtWad(uint256[] calldata x) external pure returns (uint256[] memory r) {
        r = new uint256[](x.length);
        for (uint256 i; i < x.length; ++i) r[i] = F.sqrtWad(x[i]);
    }
    function fullMulDiv(uint256[] calldata x, uint256[] calldata y, uint256[] calldata d) external pure returns (uint256[] memory r) {
        r = new uint256[](x.length);
        for (uint256 i; i < x.length; ++i) r[i] = F.fullMulDiv(x[i], y[i], d[i]);
    }
    function fullMulDivUp(uint256[] calldata x, uint256[] calldata y, uint256[] calldata d) external pure returns (uint256[] memory r) {
        r = new uint256[](x.length);
        for (uint256 i; i < x.length; ++i) r[i] = F.fullMulDivUp(x[i], y[i], d[i]);
    }
    function fullMulDivUnchecked(uint256[] calldata x, uint256[] calldata y, uint256[] calldata d) external pure returns (uint256[] memory r) {
        r = new uint256[](x.length);
        for (uint256 i; i < x.length; ++i) r[i] = F.fullMulDivUnchecked(x[i], y[i], d[i]);
    }
    function mulDivUp(uint256[] calldata x, uint256[] calldata y, uint256[] calldata d) external pure returns (uint256[] memory r) {
        r = new uint256[](x.length);
        for (uint256 i; i < x.length; ++i) r[i] = F.mulDivUp(x[i], y[i], d[i]);
    }
    function divUp(uint256[] calldata x, uint256[] calldata d) external pure returns (uint256[] memory r) {
        r = new uint256[](x.length);
        for (uint256 i; i < x.length; ++i) r[i] = F.divUp(x[i], d[i]);
    }
    function zeroFloorSub(uint256[] calldata x, uint256[] calldata y) external pure returns (uint256[] memory r) {
        r = new uint256[](x.length);
        for (uint256 i; i < x.length; ++i) r[i] = F.zeroFloorSub(x[i], y[i]);
    }
}
`;

interface SolcOutput {
  errors?: { severity: string; formattedMessage: string }[];
  contracts: Record<string, Record<string, { abi: unknown[]; evm: { bytecode: { object: string } } }>>;
}

/** Compiles `PROBE_SOURCE` with the project's compiler and settings, and deploys it. */
async function deploySoladyProbe(): Promise<BaseContract> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const solc = require("solc") as {
    compile(
      input: string,
      callbacks: { import(path: string): { contents?: string; error?: string } },
    ): string;
  };
  const input = {
    language: "Solidity",
    sources: { "SoladyProbe.sol": { content: PROBE_SOURCE } },
    settings: {
      optimizer: { enabled: true, runs: 1000 },
      evmVersion: "cancun",
      outputSelection: { "*": { SoladyProbe: ["abi", "evm.bytecode.object"] } },
    },
  };
  const findImport = (path: string) => {
    try {
      return { contents: readFileSync(join(__dirname, "../../node_modules", path), "utf8") };
    } catch {
      return { error: `not found: ${path}` };
    }
  };
  const output = JSON.parse(solc.compile(JSON.stringify(input), { import: findImport })) as SolcOutput;
  const errors = (output.errors ?? []).filter((e) => e.severity === "error");
  if (errors.length > 0) throw new Error(errors.map((e) => e.formattedMessage).join("\n"));
  const { abi, evm } = output.contracts["SoladyProbe.sol"].SoladyProbe;
  const [signer] = await ethers.getSigners();
  const factory = new ethers.ContractFactory(abi as never, evm.bytecode.object, signer);
  const probe = await factory.deploy();
  await probe.waitForDeployment();
  return probe;
}

// ------------------------------------------------------------------------------------------------
// The tests
// ------------------------------------------------------------------------------------------------

describe("fast engine math: BigInt ports against the contracts, to the wei", function () {
  this.timeout(300_000);
  // The oracle replay moves chain time days ahead: give the following test files the chain back.
  let snapshot: string;
  before(async function () {
    snapshot = await hre.network.provider.send("evm_snapshot", []);
  });
  after(async function () {
    await hre.network.provider.send("evm_revert", [snapshot]);
  });

  describe("solady FixedPointMathLib (solady.ts)", function () {
    let probe: BaseContract;
    const call =
      (name: string) =>
      (...args: unknown[][]) =>
        probe.getFunction(name).staticCall(...args) as Promise<bigint[]>;
    const rng = new Rng(101n);

    before(async function () {
      probe = await deploySoladyProbe();
    });

    it("lnWad on every bit length, near 1, and ≤ 0", async function () {
      const inputs: [bigint][] = [
        ...[0n, -1n, MIN_INT256, 1n, 2n, WAD - 1n, WAD, WAD + 1n, MAX_INT256, 2n ** 96n, 2n ** 96n - 1n].map(
          (x): [bigint] => [x],
        ),
        ...times(600, (): [bigint] => [rng.bits(255)]),
        ...times(300, (): [bigint] => [WAD + rng.signedBits(50)]),
        ...times(100, (): [bigint] => [-rng.bits(255)]),
      ];
      const n = await differential(inputs, solady.lnWad, (b) => call("lnWad")(column(b, 0)));
      expect(n.reverted).to.be.greaterThan(100);
    });

    it("expWad over its whole domain, both cut-offs and far beyond", async function () {
      const inputs: [bigint][] = [
        ...[
          MIN_INT256,
          MAX_INT256,
          0n,
          1n,
          -1n,
          -41446531673892822313n,
          -41446531673892822312n,
          135305999368893231588n,
          135305999368893231589n,
        ].map((x): [bigint] => [x]),
        ...times(900, (): [bigint] => [toWad(rng.uniform(-42.5, 135.4))]),
        ...times(200, (): [bigint] => [rng.signedBits(255)]),
      ];
      const n = await differential(inputs, solady.expWad, (b) => call("expWad")(column(b, 0)));
      expect(n.evaluated).to.be.greaterThan(900);
    });

    it("sqrt and sqrtWad on every bit length, squares and the sqrtWad branch point", async function () {
      const branch = MAX_UINT256 / WAD;
      const edges = [
        0n,
        1n,
        2n,
        3n,
        4n,
        255n,
        256n,
        MAX_UINT256,
        MAX_UINT256 - 1n,
        branch,
        branch + 1n,
        2n ** 128n,
      ];
      const squares = times(200, () => rng.bits(128) ** 2n).flatMap((s) => [s - 1n, s, s + 1n]);
      const inputs: [bigint][] = [
        ...edges,
        ...squares,
        ...nearWadSquares(rng, 300),
        ...times(800, () => rng.bits(256)),
      ]
        .filter((x) => x >= 0n && x <= MAX_UINT256)
        .map((x): [bigint] => [x]);
      await differential(inputs, solady.sqrt, (b) => call("sqrt")(column(b, 0)));
      await differential(inputs, solady.sqrtWad, (b) => call("sqrtWad")(column(b, 0)));
    });

    it("fullMulDiv, fullMulDivUp and fullMulDivUnchecked, fitting and overflowing", async function () {
      const inputs: [bigint, bigint, bigint][] = [
        [0n, 0n, 0n],
        [1n, 1n, 0n],
        [MAX_UINT256, MAX_UINT256, MAX_UINT256],
        [MAX_UINT256, MAX_UINT256, MAX_UINT256 - 1n],
        [MAX_UINT256, 2n, 2n],
        [MAX_UINT256, 2n, 1n],
        [2n ** 255n, 2n, 2n],
        ...times(700, (): [bigint, bigint, bigint] => [rng.bits(256), rng.bits(256), rng.bits(256)]),
        // Results that fit: d above the product's high word.
        ...times(500, (): [bigint, bigint, bigint] => {
          const x = rng.bits(256);
          const y = rng.bits(256);
          return [x, y, rng.between(((x * y) >> 256n) + 1n, MAX_UINT256)];
        }),
      ];
      const n = await differential(inputs, solady.fullMulDiv, (b) =>
        call("fullMulDiv")(column(b, 0), column(b, 1), column(b, 2)),
      );
      expect(n.reverted).to.be.greaterThan(50);
      await differential(inputs, solady.fullMulDivUp, (b) =>
        call("fullMulDivUp")(column(b, 0), column(b, 1), column(b, 2)),
      );
      await differential(inputs, solady.fullMulDivUnchecked, (b) =>
        call("fullMulDivUnchecked")(column(b, 0), column(b, 1), column(b, 2)),
      );
    });

    it("mulDivUp, divUp and zeroFloorSub", async function () {
      const triples: [bigint, bigint, bigint][] = [
        [0n, 5n, 0n],
        [MAX_UINT256, 1n, 1n],
        [MAX_UINT256, 2n, 3n],
        ...times(600, (): [bigint, bigint, bigint] => [rng.bits(200), rng.bits(160), rng.bits(256)]),
        ...times(200, (): [bigint, bigint, bigint] => [rng.bits(256), rng.bits(256), rng.bits(64)]),
      ];
      await differential(triples, solady.mulDivUp, (b) =>
        call("mulDivUp")(column(b, 0), column(b, 1), column(b, 2)),
      );
      const pairs: [bigint, bigint][] = [
        [0n, 0n],
        [5n, 0n],
        [MAX_UINT256, 1n],
        [MAX_UINT256, MAX_UINT256],
        [0n, MAX_UINT256],
        ...times(600, (): [bigint, bigint] => [rng.bits(256), rng.bits(256)]),
      ];
      await differential(pairs, solady.divUp, (b) => call("divUp")(column(b, 0), column(b, 1)));
      await differential(pairs, solady.zeroFloorSub, (b) => call("zeroFloorSub")(column(b, 0), column(b, 1)));
    });
  });

  describe("RiskMath (riskMath.ts)", function () {
    let h: RiskMathHarness;
    const rng = new Rng(202n);

    before(async function () {
      h = await ethers.deployContract("RiskMathHarness");
    });

    it("lnWad, expWad and sqrtWad over their whole domains", async function () {
      const lnInputs: [bigint][] = [
        ...[0n, 1n, WAD, MAX_INT256, MAX_INT256 + 1n, MAX_UINT256].map((x): [bigint] => [x]),
        ...times(600, (): [bigint] => [rng.bits(256)]),
        ...times(200, (): [bigint] => [WAD + rng.signedBits(40)]),
      ];
      await differential(lnInputs, risk.lnWad, (b) => h.lnBatch(column(b, 0)));

      const expInputs: [bigint][] = [
        ...[
          MIN_INT256,
          MAX_INT256,
          0n,
          -41446531673892822313n,
          135305999368893231588n,
          135305999368893231589n,
          135999146549453176897n,
          135999146549453176898n,
        ].map((x): [bigint] => [x]),
        ...times(700, (): [bigint] => [toWad(rng.uniform(-42.5, 136.1))]),
        ...times(200, (): [bigint] => [toWad(rng.uniform(135.2, 136.1))]),
        ...times(100, (): [bigint] => [rng.signedBits(255)]),
      ];
      const n = await differential(expInputs, risk.expWad, (b) => h.expBatch(column(b, 0)));
      expect(n.reverted).to.be.greaterThan(20);

      const sqrtInputs: [bigint][] = [0n, 1n, MAX_UINT256, MAX_UINT256 / WAD, MAX_UINT256 / WAD + 1n]
        .concat(
          nearWadSquares(rng, 200),
          times(700, () => rng.bits(256)),
        )
        .map((x): [bigint] => [x]);
      await differential(sqrtInputs, risk.sqrtWad, (b) => h.sqrtBatch(column(b, 0)));
    });

    it("normCdfWad and normCdfE36: body, tails, cut-offs and extreme arguments", async function () {
      const inputs: [bigint][] = [
        ...[0n, 1n, -1n, MIN_INT256, MAX_INT256, 9n * WAD, 9n * WAD - 1n, -9n * WAD, -9n * WAD + 1n]
          .concat([13n * WAD, 13n * WAD - 1n, -13n * WAD, -13n * WAD + 1n])
          .map((x): [bigint] => [x]),
        ...times(900, (): [bigint] => [toWad(rng.uniform(-13.5, 13.5))]),
        ...times(300, (): [bigint] => [toWad(rng.uniform(-1e-6, 1e-6))]),
        ...times(100, (): [bigint] => [rng.signedBits(255)]),
      ];
      await differential(inputs, risk.normCdfWad, (b) => h.normCdfBatch(column(b, 0)));
      await differential(inputs, risk.normCdfE36, (b) => h.normCdfE36Batch(column(b, 0)));
    });

    it("normInvWad: p near 0, near 1, around the Acklam split points and ½, and outside (0, 1)", async function () {
      const split = 24_250_000_000_000_000n; // 0.02425
      const inputs: [bigint][] = [
        ...[
          0n,
          1n,
          2n,
          WAD / 2n - 1n,
          WAD / 2n,
          WAD / 2n + 1n,
          WAD - 2n,
          WAD - 1n,
          WAD,
          WAD + 1n,
          MAX_UINT256,
        ]
          .concat([split - 1n, split, split + 1n, WAD - split - 1n, WAD - split, WAD - split + 1n])
          .map((x): [bigint] => [x]),
        ...times(500, (): [bigint] => [rng.between(1n, WAD - 1n)]),
        ...times(300, (): [bigint] => [BigInt(Math.ceil(rng.logUniform(1, 1e17)))]),
        ...times(300, (): [bigint] => [WAD - BigInt(Math.ceil(rng.logUniform(1, 1e17)))]),
        ...times(100, (): [bigint] => [WAD / 2n + rng.signedBits(30)]),
      ];
      const n = await differential(inputs, risk.normInvWad, (b) => h.normInvBatch(column(b, 0)));
      expect(n.reverted).to.equal(4);
    });

    it("hitProbabilityWad on realistic and extreme (distance, risk, horizon)", async function () {
      const horizons = [0n, 1n, 60n, 3_600n, 86_400n, 31_536_000n, 2n ** 128n - 1n, 2n ** 128n, MAX_UINT256];
      const inputs: [bigint, bigint, bigint][] = [
        [0n, WAD, 3_600n],
        [-1n, WAD, 3_600n],
        [1n, 0n, 3_600n],
        [1n, WAD, 0n],
        [MAX_INT256, 1n, 1n],
        [MAX_INT256, MAX_UINT256, MAX_UINT256],
        [MIN_INT256, 1n, 1n],
        // D = z·σ·√(τ/YEAR) with z in [0, 9.5]: the whole body of the distribution.
        ...times(900, (): [bigint, bigint, bigint] => {
          const sigma = rng.logUniform(1e-3, 1e6);
          const tau = Math.round(rng.logUniform(1, 3.2e8));
          const d = rng.uniform(0, 9.5) * sigma * Math.sqrt(tau / 31_536_000);
          return [toWad(d), toWad(sigma), BigInt(tau)];
        }),
        ...times(400, (): [bigint, bigint, bigint] => [
          rng.signedBits(255),
          rng.pick([0n, rng.bits(256), rng.bits(80)]),
          rng.pick([...horizons, rng.bits(256), rng.bits(40)]),
        ]),
      ];
      await differential(inputs, risk.hitProbabilityWad, (b) =>
        h.hitProbabilityBatch(column(b, 0), column(b, 1), column(b, 2)),
      );
    });

    it("distanceForProbabilityWad on realistic and extreme (p, risk, horizon), overflow included", async function () {
      const horizons = [0n, 1n, 3_600n, 31_536_000n, 2n ** 128n - 1n, 2n ** 128n, 2n ** 137n, MAX_UINT256];
      const inputs: [bigint, bigint, bigint][] = [
        [0n, WAD, 3_600n],
        [WAD, WAD, 3_600n],
        [1n, WAD, 3_600n],
        [WAD - 1n, WAD, 3_600n],
        [1n, MAX_UINT256, MAX_UINT256],
        [WAD / 2n, MAX_UINT256, 2n ** 200n],
        ...times(600, (): [bigint, bigint, bigint] => [
          rng.pick([
            rng.between(1n, WAD - 1n),
            BigInt(Math.ceil(rng.logUniform(1, 1e17))),
            WAD - BigInt(Math.ceil(rng.logUniform(1, 1e17))),
          ]),
          toWad(rng.logUniform(1e-3, 1e6)),
          BigInt(Math.round(rng.logUniform(1, 3.2e8))),
        ]),
        ...times(400, (): [bigint, bigint, bigint] => [
          rng.pick([rng.between(0n, WAD + 10n), rng.bits(256)]),
          rng.pick([0n, rng.bits(256), rng.bits(100)]),
          rng.pick([...horizons, rng.bits(256)]),
        ]),
      ];
      // Around the overflow boundary: the smallest risk whose distance overflows, found by bisection.
      for (let k = 0; k < 30; k++) {
        const p = BigInt(Math.ceil(rng.logUniform(1, 1e18 - 1)));
        const tau = rng.pick([BigInt(Math.round(rng.logUniform(1, 3.2e8))), rng.bits(256)]);
        const overflows = (r: bigint) =>
          portOutcome(() => risk.distanceForProbabilityWad(p, r, tau)).ok === false;
        if (!overflows(MAX_UINT256)) continue;
        let lo = 1n;
        let hi = MAX_UINT256;
        while (hi - lo > 1n) {
          const mid = (lo + hi) / 2n;
          if (overflows(mid)) hi = mid;
          else lo = mid;
        }
        inputs.unshift([p, lo, tau], [p, hi, tau]);
      }
      const n = await differential(inputs, risk.distanceForProbabilityWad, (b) =>
        h.distanceForProbabilityBatch(column(b, 0), column(b, 1), column(b, 2)),
      );
      expect(n.reverted).to.be.greaterThan(50);
    });
  });

  describe("VolatilityMath (volatilityMath.ts)", function () {
    let h: VolatilityMathHarness;
    const rng = new Rng(303n);

    before(async function () {
      h = await ethers.deployContract("VolatilityMathHarness");
    });

    it("ewmaStep on realistic steps, the documented domain, and inputs that revert", async function () {
      const inputs: [bigint, bigint, bigint, bigint, bigint][] = [
        [0n, WAD, WAD, 1n, 60n],
        [0n, 1n, 2n ** 128n - 1n, 1n, 60n],
        [2n ** 160n - 1n, 2n ** 128n - 1n, 1n, 2n ** 48n - 1n, 2_592_000n],
        [WAD, 0n, WAD, 60n, 60n], // no previous price
        [WAD, WAD, 0n, 60n, 60n],
        [WAD, WAD, WAD, 0n, 60n], // dt = 0
        [WAD, WAD, WAD, 60n, 0n], // window = 0
        [WAD, 1n, 2n ** 255n / WAD + 1n, 60n, 60n], // ratio ≥ 2**255: int256 cast turns negative
        [WAD, 1n, MAX_UINT256, 60n, 60n],
        [WAD, WAD, WAD, MAX_UINT256 / WAD + 1n, 60n], // dt·WAD overflows
        [WAD, WAD, WAD, 2n ** 255n / WAD + 1n, 1n], // dt·WAD / window ≥ 2**255
        [MAX_UINT256, WAD, 2n * WAD, 60n, 60n], // var·(1 − α) overflows
        // Consecutive prices of a liquid market, seconds to days apart.
        ...times(900, (): [bigint, bigint, bigint, bigint, bigint] => {
          const price = rng.logUniform(1e-2, 1e6);
          const move = Math.exp(rng.uniform(-0.3, 0.3));
          return [
            toWad(rng.logUniform(1e-4, 10)) * WAD,
            toWad(price),
            toWad(price * move),
            BigInt(Math.round(rng.logUniform(1, 1e6))),
            rng.between(60n, 2_592_000n),
          ];
        }),
        // The domain the library documents: prices in [1, 2**128), var < 2**160, dt < 2**48, window > 0.
        ...times(600, (): [bigint, bigint, bigint, bigint, bigint] => [
          rng.bits(160) - 1n,
          rng.bits(128),
          rng.bits(128),
          rng.bits(48),
          rng.bits(32),
        ]),
        ...times(100, (): [bigint, bigint, bigint, bigint, bigint] => [
          rng.bits(256),
          rng.bits(256),
          rng.bits(256),
          rng.bits(256),
          rng.pick([0n, rng.bits(256)]),
        ]),
      ];
      const n = await differential(inputs, vol.ewmaStep, (b) =>
        h.ewmaStepBatch(column(b, 0), column(b, 1), column(b, 2), column(b, 3), column(b, 4)),
      );
      expect(n.reverted).to.be.greaterThan(20);
    });

    it("volatilityWad on every bit length and around perfect squares", async function () {
      const squares = times(300, () => rng.bits(128) ** 2n).flatMap((s) => [s - 1n, s, s + 1n]);
      const inputs: [bigint][] = [
        0n,
        1n,
        2n,
        MAX_UINT256,
        (2n ** 128n - 1n) ** 2n,
        (2n ** 128n - 1n) ** 2n + 1n,
      ]
        .concat(
          squares,
          times(700, () => rng.bits(256)),
        )
        .filter((x) => x <= MAX_UINT256)
        .map((x): [bigint] => [x]);
      await differential(inputs, vol.volatilityWad, (b) => h.volatilityBatch(column(b, 0)));
    });

    it("a whole price path folded step by step (ewmaFold)", async function () {
      const points = readPriceCsv(join(__dirname, "../../data/prices/eth-usd-2020-03-black-thursday.csv"));
      const prices = points.map((p) => toWad(p.price));
      const dts = points.slice(1).map((p, i) => BigInt(p.timestamp - points[i].timestamp));
      const initial = (8n * WAD) / 10n;
      const chain = await h.ewmaFold(initial * initial, prices, dts, 21_600n);
      let variance = initial * initial;
      const port = dts.map(
        (dt, i) => (variance = vol.ewmaStep(variance, prices[i], prices[i + 1], dt, 21_600n)),
      );
      expect(port).to.deep.equal([...chain]);
    });
  });

  describe("WadMath (wad.ts)", function () {
    let h: WadMathHarness;
    const rng = new Rng(404n);

    before(async function () {
      h = await ethers.deployContract("WadMathHarness");
    });

    it("mulDivDown, mulDivUp, toTokenDown, toTokenUp and abs where the contract returns", async function () {
      const triples: [bigint, bigint, bigint][] = [
        [WAD, WAD, 3n],
        [0n, 0n, 1n],
        [1n, 1n, 1n],
        // Quotients below 2**256, with products of any size (the contract's full-precision fallback).
        ...times(60, (): [bigint, bigint, bigint] => {
          const x = rng.bits(256);
          const y = rng.bits(256);
          return [x, y, rng.between(((x * y) >> 256n) + 1n, MAX_UINT256)];
        }),
      ];
      for (const [x, y, d] of triples) {
        expect(await h.mulDivDown(x, y, d), `mulDivDown(${x}, ${y}, ${d})`).to.equal(wad.mulDivDown(x, y, d));
        // Exact unless the quotient is 2**256 − 1 with a remainder (where the contract panics).
        expect(await h.mulDivUp(x, y, d), `mulDivUp(${x}, ${y}, ${d})`).to.equal(wad.mulDivUp(x, y, d));
      }
      for (let i = 0; i < 60; i++) {
        const amount = rng.bits(256);
        const scale = 10n ** BigInt(Math.floor(rng.unit() * 19));
        expect(await h.toTokenDown(amount, scale)).to.equal(wad.toTokenDown(amount, scale));
        expect(await h.toTokenUp(amount, scale)).to.equal(wad.toTokenUp(amount, scale));
        const signed = rng.signedBits(255);
        expect(await h.abs(signed)).to.equal(wad.abs(signed));
      }
    });
  });

  describe("ChainlinkOracleAdapter (oracle.ts) as the backtest deploys it", function () {
    const { Status, VolatilitySource } = oracleModel;
    const HEARTBEAT = 172_800n;
    const VOLATILITY_HEARTBEAT = 7_200n;
    const toAnswer = (price: number) => BigInt(Math.round(price * 1e8));

    let oracle: ChainlinkOracleAdapter;
    let feed: MockV3Aggregator;
    let model: oracleModel.OracleModel;
    /** Block timestamp of the last transaction: the time the views run at. */
    let now = 0n;
    let roundsChecked = 0;
    const seen = { statuses: new Set<number>(), sources: new Set<number>(), samples: 0, recorded: 0 };

    /** Sends `tx` in a block at `at` and returns its receipt. */
    async function at(time: bigint, tx: () => Promise<ContractTransactionResponse>) {
      await hre.network.provider.send("evm_setNextBlockTimestamp", [Number(time)]);
      const receipt = await (await tx()).wait();
      now = time;
      return receipt!;
    }

    /** An empty block at `time`, then every view there (a boundary in time, without a transaction). */
    async function mineAt(time: bigint, label: string) {
      await hre.network.provider.send("evm_mine", [Number(time)]);
      now = time;
      await expectViews(label);
    }

    /** Every view of the adapter at the latest block against the model at the same time. */
    async function expectViews(label: string) {
      const latest = BigInt((await ethers.provider.getBlock("latest"))!.timestamp);
      expect(latest, label).to.equal(now);
      const [priceWad, status, updatedAt] = await oracle.price(ETH);
      const quote = model.price(now);
      expect({ priceWad, status: Number(status), updatedAt }, `${label}: price`).to.deep.equal(quote);
      const timed = await oracle.priceAndTime(ETH);
      expect(timed.previousUpdatedAt, `${label}: previousUpdatedAt`).to.equal(
        model.priceAndTime(now).previousUpdatedAt,
      );
      const [lastPrice, lastUpdatedAt, lastRound] = await oracle.lastGoodPrice(ETH);
      expect(
        { priceWad: lastPrice, updatedAt: lastUpdatedAt, roundId: lastRound },
        `${label}: lastGood`,
      ).to.deep.equal(model.lastGoodPrice());
      const [volatilityWad, source] = await oracle.volatility(ETH);
      expect({ volatilityWad, source: Number(source) }, `${label}: volatility`).to.deep.equal(
        model.volatility(now),
      );
      seen.statuses.add(quote.status);
      seen.sources.add(Number(source));
      roundsChecked++;
    }

    /** `feed.updateAnswer(answer)` at `time`, on both. */
    async function publish(answer: bigint, time: bigint) {
      await at(time, () => feed.updateAnswer(answer));
      model.publishRound({ roundId: model.latestRound().roundId + 1n, answer, updatedAt: time });
    }

    /** `oracle.update(ETH)` at `time` on both: same return values (the views right after) and events. */
    async function update(time: bigint, label: string) {
      const receipt = await at(time, () => oracle.update(ETH));
      const result = model.update(model.latestRound(), time);
      const events = receipt.logs.map((log) => oracle.interface.parseLog(log)).filter((e) => e !== null);
      const priceUpdated = events.find((e) => e.name === "PriceUpdated");
      const volatilityUpdated = events.find((e) => e.name === "VolatilityUpdated");
      expect(priceUpdated !== undefined, `${label}: PriceUpdated`).to.equal(result.recorded);
      expect(volatilityUpdated?.args.volatilityWad, `${label}: VolatilityUpdated`).to.equal(
        result.volatilityWad,
      );
      if (result.recorded) seen.recorded++;
      if (result.volatilityWad !== undefined) seen.samples++;
      const [priceWad, status] = await oracle.price(ETH);
      expect({ priceWad, status: Number(status) }, `${label}: update's result`).to.deep.equal({
        priceWad: result.priceWad,
        status: result.status,
      });
      await expectViews(label);
      return result;
    }

    it("agrees with the adapter at every round of a Black Thursday replay with injected faults", async function () {
      const points = readPriceCsv(join(__dirname, "../../data/prices/eth-usd-2020-03-black-thursday.csv"));
      const rounds = points.slice(600, 900);
      const maxDeviationWad = DEFAULTS.maxDeviationWad;
      const deployed = await hre.ignition.deploy(BallastLocalModule, {
        parameters: {
          Mocks: { ethInitialAnswer: toAnswer(rounds[0].price) },
          BallastLocal: { maxDeviationWad, heartbeat: Number(HEARTBEAT), ethMinPriceWad: 1n },
        },
      });
      oracle = await ethers.getContractAt("ChainlinkOracleAdapter", await deployed.oracle.getAddress());
      feed = await ethers.getContractAt("MockV3Aggregator", await deployed.ethFeed.getAddress());

      // The deployment: the feed's constructor round, `setFeed` and `setVolatilityConfig` from DEFAULTS.
      const v = DEFAULTS.eth.volatility;
      model = new oracleModel.OracleModel({
        feedDecimals: Number(await feed.decimals()),
        heartbeat: HEARTBEAT,
        minPriceWad: 1n,
        maxPriceWad: DEFAULTS.eth.maxPriceWad,
        maxDeviationWad,
        initialVolatilityWad: v.initialVolatilityWad,
        ewmaWindow: BigInt(v.ewmaWindow),
        volatilityFeedHeartbeat: BigInt(v.volatilityFeedHeartbeat),
      });
      const first = await feed.latestRoundData();
      model.publishRound({ roundId: first.roundId, answer: first.answer, updatedAt: first.updatedAt });
      now = BigInt((await ethers.provider.getBlock("latest"))!.timestamp);
      await expectViews("deployment");
      const config = await oracle.feedConfig(ETH);
      expect([config.heartbeat, config.minPriceWad, config.maxDeviationWad]).to.deep.equal([
        HEARTBEAT,
        1n,
        maxDeviationWad,
      ]);

      // As the backtest: the first price as a new round, then chain time follows the series.
      const start = now + 120n;
      await publish(toAnswer(rounds[0].price), start - 60n);
      let offset = start - BigInt(rounds[0].timestamp);
      let volatilityFeed: MockV3Aggregator | undefined;

      for (let i = 0; i < rounds.length; i++) {
        if (i === 70) {
          // No round for the heartbeat exactly (still Ok), then one second more (Stale); the series resumes.
          const lastRound = model.latestRound().updatedAt;
          await update(lastRound + HEARTBEAT, `round ${i} at the heartbeat`);
          expect(model.price(now).status).to.equal(Status.Ok);
          await update(lastRound + HEARTBEAT + 1n, `round ${i} stale`);
          expect(model.price(now).status).to.equal(Status.Stale);
          offset += HEARTBEAT + 600n;
        }
        const t = BigInt(rounds[i].timestamp) + offset;
        const answer = toAnswer(rounds[i].price);
        const label = `round ${i}`;

        if (i === 20) {
          // A spike: held back, the way back is held back too (its reference is the spike), then confirmed.
          await publish((answer * 3n) / 2n, t - 30n);
          expect((await update(t - 29n, `${label} spike`)).status).to.equal(Status.Deviation);
        } else if (i === 35) {
          // Answers the adapter cannot use: zero, negative, above the bound. The next round's reference is
          // then the last good price (its previous round is out of bounds).
          await publish(0n, t - 40n);
          await update(t - 39n, `${label} zero`);
          await publish(-answer, t - 30n);
          await update(t - 29n, `${label} negative`);
          await publish(2_000_000n * 10n ** 8n, t - 20n);
          await update(t - 19n, `${label} above the bound`);
        } else if (i === 36) {
          // A jump dated in the future: Invalid; the next round's reference is then the last good price.
          const next = model.latestRound().roundId + 1n;
          const jump = (answer * 3n) / 2n;
          await at(t - 10n, () => feed.updateRoundData(next, jump, t + 1_000n, t + 1_000n));
          model.publishRound({ roundId: next, answer: jump, updatedAt: t + 1_000n });
          await update(t - 9n, `${label} future`);
        } else if (i === 50) {
          // The guardian accepts a jump.
          await publish((answer * 11n) / 10n, t - 30n);
          expect((await update(t - 29n, `${label} jump`)).status).to.equal(Status.Deviation);
          const receipt = await at(t - 20n, () => oracle.acceptPrice(ETH));
          const accepted = model.acceptPrice(t - 20n);
          const folded = receipt.logs
            .map((log) => oracle.interface.parseLog(log))
            .find((e) => e?.name === "VolatilityUpdated");
          expect(folded?.args.volatilityWad).to.equal(accepted);
          await expectViews(`${label} accepted`);
          await expect(oracle.acceptPrice.staticCall(ETH)).to.be.revertedWithCustomError(
            oracle,
            "ChainlinkOracleAdapterNothingToAccept",
          );
          expect(() => model.acceptPrice(now)).to.throw(solady.Revert);
        } else if (i === 90) {
          // A realised-volatility feed, as the backtest's `volatilityAt` option deploys it.
          await hre.network.provider.send("evm_setNextBlockTimestamp", [Number(t - 300n)]);
          volatilityFeed = await ethers.deployContract("MockV3Aggregator", [8, 150n * 10n ** 8n]);
          model.setVolatilityFeedAnswer(150n * 10n ** 8n, t - 300n);
          const volatilityFeedAddress = await volatilityFeed.getAddress();
          await at(t - 290n, () =>
            oracle.setVolatilityConfig(ETH, {
              ...v,
              volatilityFeed: volatilityFeedAddress,
              volatilityFeedHeartbeat: VOLATILITY_HEARTBEAT,
            }),
          );
          model.setVolatilityConfig({
            initialVolatilityWad: v.initialVolatilityWad,
            ewmaWindow: BigInt(v.ewmaWindow),
            volatilityFeedHeartbeat: VOLATILITY_HEARTBEAT,
            volatilityFeedDecimals: 8,
          });
          await expectViews(`${label} volatility feed`);
        } else if (i === 130) {
          // Tighter risk parameters: the last good price falls outside the bounds, and a smaller bound.
          const last = model.lastGoodPrice().priceWad;
          const narrow = {
            heartbeat: 3_600n,
            minPriceWad: last + 1n,
            maxPriceWad: 10n ** 24n,
            maxDeviationWad: WAD / 100n,
          };
          await at(t - 20n, () =>
            oracle.setRiskParams(
              ETH,
              narrow.heartbeat,
              narrow.minPriceWad,
              narrow.maxPriceWad,
              narrow.maxDeviationWad,
            ),
          );
          model.setRiskParams(narrow);
          await expectViews(`${label} narrowed`);
        } else if (i === 140) {
          const restored = {
            heartbeat: HEARTBEAT,
            minPriceWad: 1n,
            maxPriceWad: DEFAULTS.eth.maxPriceWad,
            maxDeviationWad,
          };
          await at(t - 20n, () =>
            oracle.setRiskParams(
              ETH,
              restored.heartbeat,
              restored.minPriceWad,
              restored.maxPriceWad,
              restored.maxDeviationWad,
            ),
          );
          model.setRiskParams(restored);
          await expectViews(`${label} restored`);
        } else if (i === 200) {
          // The feed republishes an old round id: nothing is recorded until the ids pass the recorded one.
          const back = model.lastGoodPrice().roundId - 3n;
          await at(t - 10n, () => feed.updateRoundData(back, answer, t - 10n, t - 10n));
          model.publishRound({ roundId: back, answer, updatedAt: t - 10n });
          await update(t - 9n, `${label} old round id`);
        } else if (i === 155) {
          // The volatility feed went quiet after round 147: fresh at its heartbeat exactly, stale a second later.
          const quietSince = model.volatilityFeed.latestRoundData().updatedAt;
          expect(
            quietSince + VOLATILITY_HEARTBEAT + 1n < t - 60n && quietSince + VOLATILITY_HEARTBEAT > now,
          ).to.equal(true);
          await mineAt(quietSince + VOLATILITY_HEARTBEAT, `${label} volatility feed at its heartbeat`);
          expect(model.volatility(now).source).to.equal(VolatilitySource.Feed);
          await mineAt(quietSince + VOLATILITY_HEARTBEAT + 1n, `${label} volatility feed stale`);
          expect(model.volatility(now).source).to.equal(VolatilitySource.Ewma);
        } else if (i === 210) {
          // A new round with the recorded round's `updatedAt`: recorded, but no return sample (dt = 0).
          const last = model.lastGoodPrice();
          const repeat = model.latestRound();
          const next = repeat.roundId + 1n;
          await at(t - 10n, () => feed.updateRoundData(next, repeat.answer, last.updatedAt, last.updatedAt));
          model.publishRound({ roundId: next, answer: repeat.answer, updatedAt: last.updatedAt });
          const result = await update(t - 9n, `${label} same updatedAt`);
          expect([result.recorded, result.volatilityWad]).to.deep.equal([true, undefined]);
        } else if (i === 250) {
          // Back to the EWMA only: the configuration resets the variance.
          await at(t - 20n, () => oracle.setVolatilityConfig(ETH, v));
          model.setVolatilityConfig({
            initialVolatilityWad: v.initialVolatilityWad,
            ewmaWindow: BigInt(v.ewmaWindow),
            volatilityFeedHeartbeat: 0n,
          });
          await expectViews(`${label} EWMA again`);
        }

        // The volatility feed publishes until round 150, then goes quiet (stale after 2 h), then answers 0.
        if (volatilityFeed && i < 150 && i % 3 === 0) {
          const sigma = 100n + BigInt(i % 37);
          await at(t - 100n, () => volatilityFeed!.updateAnswer(sigma * 10n ** 8n));
          model.setVolatilityFeedAnswer(sigma * 10n ** 8n, t - 100n);
        } else if (volatilityFeed && i === 200) {
          await at(t - 1n, () => volatilityFeed!.updateAnswer(0n));
          model.setVolatilityFeedAnswer(0n, t - 1n);
        }

        if (i > 0) await publish(answer, t);
        await update(t + 1n, label);
        if (i % 25 === 0) await update(t + 2n, `${label} again`);
      }

      expect(roundsChecked).to.be.greaterThan(rounds.length);
      expect([...seen.statuses].sort()).to.deep.equal([
        Status.Ok,
        Status.Stale,
        Status.Invalid,
        Status.Deviation,
      ]);
      expect([...seen.sources].sort()).to.deep.equal([VolatilitySource.Ewma, VolatilitySource.Feed]);
      expect(seen.recorded).to.be.greaterThan(150);
      expect(seen.samples).to.equal(seen.recorded - 2); // not the first record, nor the one with dt = 0
    });
  });
});
