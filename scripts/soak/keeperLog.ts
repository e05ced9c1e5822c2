/** One JSON line of the keeper service's log (docs/OPERATIONS.md, "Log format"). */
export interface KeeperLine {
  ts: string;
  event: "cycle" | "update" | "perform" | "skip" | "error" | "deferred";
  [field: string]: unknown;
}

/**
 * Collects the keeper's stdout, one JSON object per line, and lets the caller wait for a line that
 * satisfies a predicate.
 */
export class KeeperLog {
  readonly lines: KeeperLine[] = [];
  /** Lines that were not JSON (there should be none: stdout carries only log lines). */
  readonly other: string[] = [];
  private partial = "";
  private waiters: (() => void)[] = [];

  push(chunk: string) {
    const text = this.partial + chunk;
    const parts = text.split("\n");
    this.partial = parts.pop()!;
    for (const part of parts) {
      const line = part.trim();
      if (line === "") continue;
      try {
        this.lines.push(JSON.parse(line));
      } catch {
        this.other.push(line);
      }
    }
    if (parts.length > 0) for (const w of this.waiters.splice(0)) w();
  }

  /**
   * Waits until a line at index ≥ `from` satisfies `match`; resolves to its index. Rejects after
   * `timeoutMs`, or when `abort()` returns a reason (checked on every new line and every second).
   */
  async waitFor(
    from: number,
    match: (line: KeeperLine, index: number) => boolean,
    timeoutMs: number,
    abort: () => string | undefined,
  ): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    let cursor = from;
    for (;;) {
      for (; cursor < this.lines.length; cursor++) if (match(this.lines[cursor], cursor)) return cursor;
      const reason = abort();
      if (reason !== undefined) throw new Error(reason);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out after ${timeoutMs} ms waiting for the keeper`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, Math.min(left, 1_000));
        const waiter = () => done();
        function done() {
          clearTimeout(timer);
          resolve();
        }
        this.waiters.push(waiter);
      });
    }
  }

  of(event: KeeperLine["event"]): KeeperLine[] {
    return this.lines.filter((l) => l.event === event);
  }
}
