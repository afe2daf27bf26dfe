// A vitest reporter that counts test results per cell of the version matrix, so CI can print how
// many tests ran (and passed) for each framework and version. A cell is named by the top-level
// `describe` (`express 4: ...`, `koa 2 + @koa/router 12: ...`, `nest 11 (fastify): ...`) or by the
// vitest project name (`grpc-js 1.10`); tests outside any cell are not counted here. The lines it
// prints (`matrix: <cell>: N passed, N failed, N skipped`) are summed by scripts/summarize-tests.mjs.
import type { Reporter, TestModule } from 'vitest/node';

const CELL = /^((?:express|koa|nest|nestjs|fastify|grpc-js)\b[^:>]*?):/i;

interface Counts {
  passed: number;
  failed: number;
  skipped: number;
}

function cellOf(fullName: string, project: string): string | undefined {
  const top = fullName.split(' > ')[0] ?? '';
  const m = CELL.exec(top) ?? CELL.exec(`${project}:`);
  return m?.[1]?.trim();
}

export default class MatrixReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    const cells = new Map<string, Counts>();
    for (const module of testModules) {
      for (const test of module.children.allTests()) {
        const cell = cellOf(test.fullName, module.project.name);
        if (cell === undefined) continue;
        let counts = cells.get(cell);
        if (counts === undefined) {
          counts = { passed: 0, failed: 0, skipped: 0 };
          cells.set(cell, counts);
        }
        const state = test.result().state;
        if (state === 'passed') counts.passed++;
        else if (state === 'failed') counts.failed++;
        else counts.skipped++;
      }
    }
    for (const [cell, c] of [...cells].sort(([a], [b]) => a.localeCompare(b))) {
      process.stdout.write(`matrix: ${cell}: ${c.passed} passed, ${c.failed} failed, ${c.skipped} skipped\n`);
    }
  }
}
