/**
 * Runs the stateful property test (`test/property/stateful.property.test.ts`) with chosen settings:
 *
 *   npm run fuzz -- --runs 1000 --seed 42
 *   npm run fuzz -- --seed 42 --path "17:3:0" --replay-path "AAEB"   # replay a printed counterexample
 *
 * Flags map to the test's environment variables: --runs → FUZZ_RUNS, --seed → FUZZ_SEED, --path →
 * FUZZ_PATH, --replay-path → FUZZ_REPLAY_PATH. Exits with the test's status.
 */
import { spawn } from "child_process";

const FLAGS: Record<string, string> = {
  "--runs": "FUZZ_RUNS",
  "--seed": "FUZZ_SEED",
  "--path": "FUZZ_PATH",
  "--replay-path": "FUZZ_REPLAY_PATH",
};

function parse(argv: string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split(/=(.*)/s, 2);
    const name = FLAGS[flag];
    if (!name) {
      console.error(`unknown flag ${argv[i]}; expected ${Object.keys(FLAGS).join(", ")}`);
      process.exit(2);
    }
    const value = inline ?? argv[++i];
    if (value === undefined) {
      console.error(`${flag} needs a value`);
      process.exit(2);
    }
    if ((flag === "--runs" || flag === "--seed") && !/^-?\d+$/.test(value)) {
      console.error(`${flag} must be an integer, got ${value}`);
      process.exit(2);
    }
    env[name] = value;
  }
  return env;
}

const env = parse(process.argv.slice(2));
for (const [k, v] of Object.entries(env)) console.log(`${k}=${v}`);
const child = spawn("npx", ["hardhat", "test", "test/property/stateful.property.test.ts"], {
  stdio: "inherit",
  env: { ...process.env, ...env },
});
child.on("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
