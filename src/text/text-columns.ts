/**
 * Rows of cells as aligned text: every column but the last padded to its widest cell, two
 * spaces between columns, one line per row. The tables of `nx config show` and of the client
 * commands (`nx ps`, `nx peers`, ...) are printed with it.
 */
export function renderColumns(rows: readonly (readonly string[])[]): string {
  if (rows.length === 0) return "";
  const columns = Math.max(...rows.map((row) => row.length));
  const widths = Array.from({ length: columns }, (_, column) =>
    Math.max(...rows.map((row) => (row[column] ?? "").length)),
  );
  const lines = rows.map((row) =>
    row
      .map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column]!)))
      .join("  ")
      .trimEnd(),
  );
  return `${lines.join("\n")}\n`;
}
