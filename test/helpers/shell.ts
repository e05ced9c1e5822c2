import { spawn } from "node:child_process";
import { ROOT } from "../../scripts/soak/processes";

/** The commands of a fenced block that follows `<!-- quickstart -->` in a Markdown file. */
export function quickstartCommands(markdown: string): string[] {
  const marker = markdown.indexOf("<!-- quickstart -->");
  if (marker < 0) throw new Error("no <!-- quickstart --> block");
  const block = /```bash\n([\s\S]*?)```/.exec(markdown.slice(marker));
  if (block === null) throw new Error("no bash block after <!-- quickstart -->");
  return block[1]
    .split("\n")
    .map((l) => l.replace(/\s+#.*$/, "").trim())
    .filter((l) => l.startsWith("npx "));
}

/**
 * Runs a shell command as on a headless server (no `DISPLAY`: Hardhat then prints stack traces by
 * default); resolves with its exit code and output, killing it after `ms`.
 */
export function sh(command: string, env: Record<string, string> = {}, ms = 120_000) {
  const headless: Record<string, string | undefined> = { ...process.env, ...env };
  delete headless.DISPLAY;
  delete headless.WAYLAND_DISPLAY;
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn("sh", ["-c", command], { cwd: ROOT, env: headless });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c) => (stdout += c));
    child.stderr.on("data", (c) => (stderr += c));
    const timer = setTimeout(() => child.kill("SIGKILL"), ms);
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
