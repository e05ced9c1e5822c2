import { extendEnvironment, task } from "hardhat/config";
import type {
  ActionType,
  ConfigurableTaskDefinition,
  HardhatRuntimeEnvironment,
  RunTaskFunction,
  TaskArguments,
} from "hardhat/types";
import { errorDecoder } from "./context";
import { TaskError, toTaskError } from "./errors";
import { toJson } from "./units";

/**
 * How every project task fails: one line, a non-zero exit code, and with `--json` a JSON object on
 * stdout.
 *
 * Hardhat's own CLI prints a stack trace with any error it does not know (and with every error on a
 * machine without a display, which it takes for a CI server), and a "For more info" line after the
 * rest. Tasks defined with `defineTask` instead:
 *
 * - turn whatever their action throws into a `TaskError` (one line, the revert decoded), printing
 *   `{task, network, ...details, error: {message, name, …}}` on stdout first when run with `--json`;
 * - when they are the command the CLI runs, print `Error: <message>` on stderr and exit with code 1;
 *   argument errors Hardhat raises before the action runs (a missing or malformed option) are printed
 *   the same way. `--show-stack-traces` restores Hardhat's own output.
 *
 * Run through `hre.run` (tests, scripts, other tasks) they reject with the `TaskError` instead.
 */

/** Names of the tasks defined with `defineTask`. */
export const PROJECT_TASKS = new Set<string>();

/** `task(name, description)` whose failures follow the rules above. */
export function defineTask(name: string, description: string): ConfigurableTaskDefinition {
  PROJECT_TASKS.add(name);
  const definition = task(name, description);
  const setAction = definition.setAction.bind(definition);
  definition.setAction = <T extends TaskArguments>(action: ActionType<T>) =>
    setAction(async (args: T, hre, runSuper) => {
      try {
        return await action(args, hre, runSuper);
      } catch (error) {
        throw await reportFailure(name, args, hre, error);
      }
    });
  return definition;
}

/** The JSON object a failed task prints with `--json`. */
export function failureJson(name: string, network: string, error: TaskError): Record<string, unknown> {
  return { task: name, network, ...error.details, error: error.toJSON() };
}

async function reportFailure(
  name: string,
  args: TaskArguments,
  hre: HardhatRuntimeEnvironment,
  error: unknown,
): Promise<TaskError> {
  let decoder;
  try {
    // Only needed to decode a revert that did not come through the tasks' own simulation.
    if (!(error instanceof TaskError)) decoder = await errorDecoder(hre);
  } catch {
    decoder = undefined;
  }
  const failure = toTaskError(error, decoder);
  if (args?.json === true && !failure.reported) {
    console.log(toJson(failureJson(name, hre.network.name, failure)));
    failure.reported = true;
  }
  return failure;
}

/** Whether this process is the Hardhat CLI (`npx hardhat <task>`), not a test runner or a script. */
export function isHardhatCli(): boolean {
  const main = require.main?.filename ?? "";
  return /hardhat[\\/]internal[\\/]cli[\\/](bootstrap|cli)\.js$/.test(main);
}

function showStackTraces(hre?: HardhatRuntimeEnvironment): boolean {
  return process.argv.includes("--show-stack-traces") || hre?.hardhatArguments?.showStackTraces === true;
}

/** Prints a failure of the CLI's command: JSON (with `--json`) on stdout, one line on stderr. */
function printCliFailure(name: string, network: string, json: boolean, error: unknown) {
  const failure = toTaskError(error);
  if (json && !failure.reported) {
    console.log(toJson(failureJson(name, network, failure)));
    failure.reported = true;
  }
  console.error(`Error: ${failure.message}`);
  process.exitCode = 1;
}

let depth = 0;

// The CLI runs its command with `hre.run`; tasks run inside it see the same function through the
// environment's proxy. The outermost call is the command.
extendEnvironment((hre) => {
  const run = hre.run;
  (hre as { run: RunTaskFunction }).run = (async (identifier, taskArguments, ...rest) => {
    const name = typeof identifier === "string" ? identifier : identifier.scope ? "" : identifier.task;
    const outermost = depth === 0;
    depth++;
    try {
      return await run(identifier, taskArguments, ...rest);
    } catch (error) {
      if (outermost && PROJECT_TASKS.has(name) && isHardhatCli() && !showStackTraces(hre)) {
        printCliFailure(name, hre.network.name, taskArguments?.json === true, error);
        return undefined;
      }
      throw error;
    } finally {
      depth--;
    }
  }) as RunTaskFunction;
});

// Option errors found while the CLI parses the command line (an unknown option, a value that is not
// an integer, a missing required option) happen before `hre.run`: print them the same way.
if (isHardhatCli()) {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { ArgumentsParser } = require("hardhat/internal/cli/ArgumentsParser");
    const parse = ArgumentsParser.prototype.parseTaskArguments;
    ArgumentsParser.prototype.parseTaskArguments = function (
      definition: { name: string },
      rawCLAs: string[],
    ) {
      try {
        return parse.call(this, definition, rawCLAs);
      } catch (error) {
        if (!PROJECT_TASKS.has(definition.name) || showStackTraces()) throw error;
        const network = networkArgument(process.argv) ?? process.env.HARDHAT_NETWORK ?? "hardhat";
        printCliFailure(definition.name, network, rawCLAs.includes("--json"), error);
        process.exit(1);
      }
    };
  } catch {
    // another Hardhat layout: its own messages stand
  }
}

function networkArgument(argv: string[]): string | undefined {
  const i = argv.indexOf("--network");
  return i >= 0 ? argv[i + 1] : undefined;
}
