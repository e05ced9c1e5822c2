import { underCoverage } from "../helpers/coverage";
import { expect } from "chai";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import fc from "fast-check";
import { expectConservation } from "../helpers/fixtures";
import { allCommands } from "../helpers/model/commands";
import { adversaryCommands } from "../helpers/model/adversary";
import { Stats, World, initialModel, statefulFixture } from "../helpers/model/world";

/**
 * Stateful model-based test of the deployed protocol: random sequences of 10–30 commands (margin and
 * reserve flows, trades in ETH and BTC, policies, Chainlink rounds that are normal, stale, invalid or
 * jumping, L2 sequencer outages, rebalances, keeper upkeeps, liquidations, LP deposits and exits,
 * pauses) by four honest traders, an adversary with two accounts (`test/helpers/model/adversary.ts`), an
 * LP, a keeper, the guardian and the admin. Every command checks the model's prediction of its outcome
 * (the exact custom error where the model knows it must revert); after every command the invariants of
 * `test/helpers/model/invariants.ts` and `actors.ts` are checked against the chain.
 *
 * FUZZ_RUNS (default 200) sequences from FUZZ_SEED (default fixed). A failure prints the seed, path and
 * replay path; `FUZZ_SEED=<s> FUZZ_PATH=<path> FUZZ_REPLAY_PATH=<replay>` (or `npm run fuzz -- --seed <s>
 * --path <path> --replay-path <replay>`) replays exactly the shrunk counterexample.
 */
// Under solidity-coverage (instrumented, several times slower) 50 sequences reach every command.
const RUNS = Number(process.env.FUZZ_RUNS ?? (underCoverage() ? 50 : 200));
const SEED = Number(process.env.FUZZ_SEED ?? 20261125);
const PATH = process.env.FUZZ_PATH || undefined;
const REPLAY_PATH = process.env.FUZZ_REPLAY_PATH || undefined;
const MIN_COMMANDS = 10;
const MAX_COMMANDS = 30;

describe("Property: stateful model of the protocol", function () {
  // About 2 minutes on an idle 2-core machine; a timeout would leave the run sending transactions under
  // the next test, so the limit is generous.
  this.timeout(1_200_000);

  it(`keeps every invariant over ${PATH ? "a replayed" : RUNS} command sequence${PATH ? "" : "s"}`, async () => {
    const stats = new Stats();
    let sequences = 0;
    let commands = 0;
    let failing: string[] = [];
    console.log(`      FUZZ_SEED=${SEED} FUZZ_RUNS=${RUNS}${PATH ? ` FUZZ_PATH=${PATH}` : ""}`);
    const started = Date.now();
    const property = fc.asyncProperty(
      fc.commands([...allCommands, ...adversaryCommands], {
        maxCommands: MAX_COMMANDS,
        size: "max",
        replayPath: REPLAY_PATH,
      }),
      async (cmds) => {
        const list = [...cmds];
        // Short sequences are skipped (not counted as runs) unless a replay asks for one.
        if (!PATH) fc.pre(list.length >= MIN_COMMANDS);
        const f = await loadFixture(statefulFixture);
        const world = await World.create(f, stats);
        sequences++;
        commands += list.length;
        try {
          await fc.asyncModelRun(() => ({ model: initialModel(), real: world }), cmds);
        } catch (e) {
          failing = [...world.log]; // the last failing execution is the reported counterexample
          throw e;
        }
        // The fixture helper's own conservation check, once per sequence, over every account that ever
        // held a vault balance.
        await expectConservation(f, [...world.traders.map((t) => t.address), ...world.others]);
      },
    );
    const details = await fc.check(property, {
      numRuns: RUNS,
      seed: SEED,
      path: PATH,
      // A replay reproduces the counterexample as printed instead of shrinking it further.
      endOnFailure: PATH !== undefined,
    });
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    if (details.failed) {
      const shown = details.counterexample ? fc.stringify(details.counterexample) : "";
      const replay = /replayPath="([^"]*)"/.exec(shown)?.[1] ?? "";
      const error =
        details.errorInstance instanceof Error
          ? details.errorInstance
          : new Error(String(details.errorInstance));
      const message = [
        `Stateful property failed after ${details.numRuns} sequence(s) (${seconds}s): ${error.message}`,
        `Counterexample (shrunk ${details.numShrinks} time(s)): ${shown}`,
        `Commands run up to the failure: ${failing.join(" → ")}`,
        `Replay: FUZZ_SEED=${details.seed} FUZZ_PATH=${details.counterexamplePath} FUZZ_REPLAY_PATH=${replay} npx hardhat test test/property/stateful.property.test.ts`,
        `    or: npm run fuzz -- --seed ${details.seed} --path ${details.counterexamplePath} --replay-path '${replay}'`,
      ].join("\n");
      console.log(message);
      error.message = message;
      throw error;
    }
    console.log(`      ${sequences} sequences, ${commands} commands in ${seconds}s`);
    console.log("      outcomes:", stats.table());
    console.log(
      "      largest gain beyond entitlement per actor (wei of WAD; ≤ 0: none):",
      stats.worstExcess.map((x) => x.toString()).join(", "),
    );
    if (!PATH && RUNS >= 100) {
      // The sequences must reach the states the invariants are about, or the test proves little.
      for (const key of [
        "liquidate: ok",
        "rebalance: ok",
        "performUpkeep liquidated",
        "performUpkeep rebalanced",
        "expected revert: MarginEnginePaused",
        "expected revert: MarginEngineBadPrice",
        "expected revert: LiquidityPoolPaused",
        "price status: Deviation",
        "price status: Stale",
        "price status: Invalid",
        "tradeOrder: ok",
        "closeOrder: ok",
        "adversary.frontRun: ok",
        "adversary.hedgedPair: ok",
        "adversary.setPolicy: ok",
        "adversary.liquidate: ok",
        "adversary.sink: a leg under water",
        "adversary.liquidate: with bad debt",
        "expected revert: MarginEngineOrderAwaitingRound",
        "expected revert: MarginEngineOrderRoundPassed",
        "fill: order at a later round",
        "fill: rebalance at a round after the owner's action",
      ]) {
        expect(stats.get(key), `reached: ${key}`).to.be.greaterThan(0);
      }
    }
  });
});
