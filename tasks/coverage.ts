import { task } from "hardhat/config";
import { TASK_CLEAN } from "hardhat/builtin-tasks/task-names";

/**
 * `coverage` starts from a clean build. solidity-coverage numbers its probes across all files in one
 * sequence, so a change to one contract renumbers the probes of the contracts after it; Hardhat's cache
 * sees those contracts' own sources unchanged and keeps their artifacts, whose probes the new run no longer
 * knows. Their lines then read as never executed. Cleaning first compiles every contract from the same
 * instrumentation.
 */
task("coverage").setAction(async (args, hre, runSuper) => {
  await hre.run(TASK_CLEAN);
  return runSuper(args);
});
