// Terminal output helpers: colours (only on a terminal, never with NO_COLOR), headings, tables.

// ---------------------------------------------------------------------------------------------
// Output and colours (only on a terminal, and never when NO_COLOR is set)

export const useColor = process.stdout.isTTY === true && process.env.NO_COLOR === undefined;

function paint(code: number): (text: string) => string {
  return (text) => (useColor ? `\x1b[${code}m${text}\x1b[0m` : text);
}

export const bold = paint(1);
export const dim = paint(2);
export const red = paint(31);
export const green = paint(32);
export const yellow = paint(33);
export const cyan = paint(36);

export function out(line = ''): void {
  process.stdout.write(`${line}\n`);
}

export function printHeading(title: string): void {
  out();
  out(bold(`== ${title} ==`));
}

export function printNote(text: string): void {
  out(dim(text));
}

/** Left-aligned columns; numbers-looking cells are right-aligned. */
export function printTable(
  header: readonly string[],
  rows: readonly (readonly string[])[],
  indent = '  ',
): void {
  const widths = header.map((h, i) =>
    Math.max(visible(h).length, ...rows.map((r) => visible(r[i] ?? '').length)),
  );
  const line = (cells: readonly string[]): string =>
    indent +
    cells
      .map((cell, i) => {
        const pad = ' '.repeat(Math.max(0, (widths[i] ?? 0) - visible(cell).length));
        return /^[-\d.,%/ ]+$/.test(visible(cell)) && i > 0 ? pad + cell : cell + pad;
      })
      .join('  ')
      .trimEnd();
  out(dim(line(header)));
  for (const row of rows) out(line(row));
}

/** Text without ANSI colour codes (for widths). */
export function visible(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: ANSI escape sequences
  return text.replace(/\x1b\[[0-9;]*m/g, '');
}
