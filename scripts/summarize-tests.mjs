// Sums the vitest summaries of every workspace in a test log and prints one closing line
// "N passed, N failed, N skipped", so the total is readable whatever ran the packages. Before it,
// the counts per cell of the version matrix (framework and version), from the `matrix:` lines
// that tools/testing/src/matrix-reporter.ts prints.
import { readFileSync } from 'node:fs';

// ANSI colour sequences (ESC [ ... m) are stripped before parsing.
const ansi = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g');
const log = readFileSync(process.argv[2] ?? 0, 'utf8').replace(ansi, '');
let passed = 0;
let failed = 0;
let skipped = 0;
let files = 0;
const cells = new Map();
for (const line of log.split('\n')) {
  const cell = /(?:^|\s)matrix: (.+?): (\d+) passed, (\d+) failed, (\d+) skipped\s*$/.exec(line);
  if (cell !== null) {
    const c = cells.get(cell[1]) ?? [0, 0, 0];
    cells.set(cell[1], [c[0] + Number(cell[2]), c[1] + Number(cell[3]), c[2] + Number(cell[4])]);
    continue;
  }
  const m = /\bTests\s+(.*)\(\d+\)\s*$/.exec(line);
  if (m === null) continue;
  files++;
  const part = (re) => Number(re.exec(m[1])?.[1] ?? 0);
  passed += part(/(\d+) passed/);
  failed += part(/(\d+) failed/);
  skipped += part(/(\d+) skipped/) + part(/(\d+) todo/);
}
if (cells.size > 0) {
  console.log('version matrix (tests per framework and version):');
  const width = Math.max(...[...cells.keys()].map((k) => k.length));
  for (const [name, [p, f, s]] of [...cells].sort(([a], [b]) =>
    a.localeCompare(b, 'en', { numeric: true }),
  )) {
    console.log(
      `  ${name.padEnd(width)}  ${p} passed, ${f} failed, ${s} skipped${f > 0 ? '  <- FAILED' : ''}`,
    );
  }
}
console.log(`test summary: ${files} workspaces reported`);
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
