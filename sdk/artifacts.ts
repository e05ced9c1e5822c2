import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Artifact, ArtifactResolver } from "@nomicfoundation/ignition-core";

/**
 * Resolves the contracts the Ignition modules name to the compiled artifacts shipped in the package
 * (`dist/artifacts/<Name>.json`: ABI, bytecode and library link references), so that a downstream
 * project deploys Ballast without compiling its sources.
 */
export const ballastArtifactResolver: ArtifactResolver = {
  async loadArtifact(contractName: string): Promise<Artifact> {
    try {
      return JSON.parse(readFileSync(join(__dirname, "artifacts", `${contractName}.json`), "utf8"));
    } catch {
      throw new Error(`@ballast/protocol ships no artifact named ${contractName}`);
    }
  },
  async getBuildInfo() {
    return undefined;
  },
};
