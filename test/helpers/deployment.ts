import fs from "fs";
import os from "os";
import path from "path";
import { writeDeployment } from "../../tasks/lib/deployment";
import type { Ballast } from "./fixtures";

/**
 * Writes the fixture's addresses as Ignition would (`BallastLocal#<Contract>` in a
 * `deployed_addresses.json`) into a fresh temporary folder, for the tasks' `--deployment`.
 */
export async function writeFixtureDeployment(f: Ballast): Promise<string> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ballast-deployment-"));
  const at = (c: { getAddress(): Promise<string> }) => c.getAddress();
  writeDeployment(dir, "BallastLocal", {
    guardian: await at(f.guardian),
    oracle: await at(f.oracle),
    vault: await at(f.vault),
    pool: await at(f.pool),
    engine: await at(f.engine),
    keeper: await at(f.keeperContract),
    lens: await at(f.lens),
    thresholdStrategy: await at(f.thresholdStrategy),
    volatilityStrategy: await at(f.volatilityStrategy),
  });
  return dir;
}
