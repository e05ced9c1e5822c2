import { ChildProcess, spawn } from "node:child_process";
import { createWriteStream, WriteStream } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { JsonRpcApiProviderOptions, JsonRpcProvider } from "ethers";

export const ROOT = join(__dirname, "..", "..");
export const HARDHAT_BIN = join(ROOT, "node_modules", ".bin", "hardhat");

/** A free TCP port on the loopback interface. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Whether `port` on the loopback interface can be bound now. */
export async function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

/**
 * A child process in its own process group (`detached`), so that stopping it stops everything it
 * started. Every group started here is registered and stopped by `stopAll`.
 */
export class Child {
  readonly name: string;
  readonly process: ChildProcess;
  readonly exited: Promise<number | null>;
  exitCode: number | null = null;
  signal: NodeJS.Signals | null = null;
  private stderrTail: string[] = [];

  constructor(
    name: string,
    args: string[],
    env: Record<string, string>,
    options: { stdout?: (chunk: string) => void; logFile?: string } = {},
  ) {
    this.name = name;
    const log: WriteStream | undefined = options.logFile ? createWriteStream(options.logFile) : undefined;
    this.process = spawn(HARDHAT_BIN, args, {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ["ignore", options.stdout || log ? "pipe" : "ignore", "pipe"],
      detached: true,
    });
    children.add(this);
    this.process.stdout?.setEncoding("utf8");
    this.process.stdout?.on("data", (chunk: string) => {
      log?.write(chunk);
      options.stdout?.(chunk);
    });
    this.process.stderr!.setEncoding("utf8");
    this.process.stderr!.on("data", (chunk: string) => {
      log?.write(chunk);
      this.stderrTail.push(chunk);
      if (this.stderrTail.length > 50) this.stderrTail.shift();
    });
    this.exited = new Promise((resolve) =>
      this.process.once("exit", (code, signal) => {
        this.exitCode = code;
        this.signal = signal;
        children.delete(this);
        log?.end();
        resolve(code);
      }),
    );
  }

  get running(): boolean {
    return this.process.exitCode === null && this.process.signalCode === null;
  }

  get stderr(): string {
    return this.stderrTail.join("");
  }

  /** Sends `signal` to the process itself (not its group). */
  signalProcess(signal: NodeJS.Signals) {
    if (this.running && this.process.pid !== undefined) this.process.kill(signal);
  }

  /** Stops the whole process group: SIGTERM, then SIGKILL after `graceMs`. */
  async stopGroup(graceMs = 5_000): Promise<void> {
    const pid = this.process.pid;
    if (pid === undefined) return;
    killGroup(pid, "SIGTERM");
    const timer = new Promise((r) => setTimeout(r, graceMs));
    if (this.running) await Promise.race([this.exited, timer]);
    killGroup(pid, "SIGKILL"); // whatever is left of the group
  }
}

function killGroup(pid: number, signal: NodeJS.Signals) {
  try {
    process.kill(-pid, signal);
  } catch {
    // the group is gone
  }
}

const children = new Set<Child>();

/** Stops every process group started here (best effort, in parallel). */
export async function stopAll(): Promise<void> {
  await Promise.all([...children].map((c) => c.stopGroup(3_000)));
}

/** Synchronous last resort for `process.on("exit")`: SIGKILL to every group still registered. */
export function killAllNow() {
  for (const c of children) if (c.process.pid !== undefined) killGroup(c.process.pid, "SIGKILL");
}

/** Runs `hardhat <args>` to completion; rejects with its output on a non-zero exit. */
export function runHardhat(args: string[], env: Record<string, string>): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = "";
    const child = new Child(`hardhat ${args[0]}`, args, env, { stdout: (c) => (out += c) });
    child.exited.then((code) => {
      if (code === 0) resolve(out);
      else reject(new Error(`hardhat ${args.join(" ")} exited with ${code}:\n${out}\n${child.stderr}`));
    });
  });
}

/**
 * Polls `url` until it answers `eth_chainId`, for at most `ms`, and returns a provider for it; `check` runs
 * after each failed attempt (throw from it to give up early, e.g. when the node process has exited).
 */
export async function waitForNode(
  url: string,
  ms: number,
  check: () => void = () => {},
  options?: JsonRpcApiProviderOptions,
): Promise<JsonRpcProvider> {
  const provider = new JsonRpcProvider(url, undefined, options);
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      await provider.send("eth_chainId", []);
      return provider;
    } catch (error) {
      check();
      if (Date.now() > deadline) throw error;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}
