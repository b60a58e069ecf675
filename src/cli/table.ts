/** Plain aligned text tables: what `package list`, `dp list` and `status` print. */

export interface Column {
  readonly header: string;
  /** Numbers and sizes read best right-aligned. */
  readonly align?: 'left' | 'right';
}

/**
 * Renders rows under headers, columns padded to their widest cell and separated by two spaces. Trailing
 * spaces are trimmed so the output diffs cleanly.
 */
export function renderTable(columns: readonly Column[], rows: readonly (readonly string[])[]): string {
  const widths = columns.map((c, i) => Math.max(c.header.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    columns
      .map((c, i) => {
        const cell = cells[i] ?? '';
        const w = widths[i]!;
        return c.align === 'right' ? cell.padStart(w) : cell.padEnd(w);
      })
      .join('  ')
      .trimEnd();
  return [line(columns.map((c) => c.header)), ...rows.map(line)].join('\n') + '\n';
}
