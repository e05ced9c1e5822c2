/** A column of a plain-text table: its header (may span lines with "\n") and how its cells align. */
export interface TextColumn {
  header: string;
  align?: "left" | "right";
}

/**
 * A plain-text table: headers (possibly on several lines) aligned on the columns, a rule under them, then
 * one line per row. Cells are printed as given (format numbers before); left-aligned columns by default,
 * right-aligned ones for figures.
 */
export function formatTable(columns: TextColumn[], rows: string[][], gap = "  "): string {
  const headerLines = columns.map((c) => c.header.split("\n"));
  const depth = Math.max(...headerLines.map((h) => h.length));
  const width = columns.map((_, j) =>
    Math.max(...headerLines[j].map((h) => [...h].length), ...rows.map((r) => [...(r[j] ?? "")].length)),
  );
  const pad = (text: string, j: number) => {
    const room = " ".repeat(width[j] - [...text].length);
    return columns[j].align === "right" ? room + text : text + room;
  };
  const line = (cells: string[]) =>
    cells
      .map((c, j) => pad(c, j))
      .join(gap)
      .trimEnd();
  const out: string[] = [];
  for (let k = 0; k < depth; k++) {
    // Multi-line headers sit on the rule: shorter ones are padded at the top.
    out.push(line(headerLines.map((h) => h[k - (depth - h.length)] ?? "")));
  }
  out.push(width.map((w) => "─".repeat(w)).join(gap));
  for (const r of rows) out.push(line(columns.map((_, j) => r[j] ?? "")));
  return out.join("\n");
}
