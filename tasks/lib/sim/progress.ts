/**
 * A one-line progress bar on stderr (redrawn in place on a terminal, a line per 10% otherwise), so that
 * stdout stays clean for tables and JSON.
 */
export function progressBar(label: string, width = 30) {
  const tty = Boolean(process.stderr.isTTY);
  const started = Date.now();
  let lastDecile = -1;
  return (done: number, total: number) => {
    const fraction = total === 0 ? 1 : done / total;
    const seconds = ((Date.now() - started) / 1000).toFixed(0);
    const filled = Math.round(fraction * width);
    const line = `${label} [${"#".repeat(filled)}${".".repeat(width - filled)}] ${done}/${total} ${seconds}s`;
    if (tty) {
      process.stderr.write(`\r${line}`);
      if (done === total) process.stderr.write("\n");
    } else {
      const decile = Math.floor(fraction * 10);
      if (decile !== lastDecile) {
        lastDecile = decile;
        process.stderr.write(`${line}\n`);
      }
    }
  };
}
