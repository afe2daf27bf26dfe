// Sums the vitest summaries of every workspace in a test log and prints one closing line
// "N passed, N failed, N skipped", so the total is readable whatever ran the packages.
import { readFileSync } from 'node:fs';

// ANSI colour sequences (ESC [ ... m) are stripped before parsing.
const ansi = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g');
const log = readFileSync(process.argv[2] ?? 0, 'utf8').replace(ansi, '');
let passed = 0;
let failed = 0;
let skipped = 0;
let files = 0;
for (const line of log.split('\n')) {
  const m = /\bTests\s+(.*)\(\d+\)\s*$/.exec(line);
  if (m === null) continue;
  files++;
  const part = (re) => Number(re.exec(m[1])?.[1] ?? 0);
  passed += part(/(\d+) passed/);
  failed += part(/(\d+) failed/);
  skipped += part(/(\d+) skipped/) + part(/(\d+) todo/);
}
console.log(`test summary: ${files} workspaces reported`);
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
