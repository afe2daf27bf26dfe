// The repository's Biome formats Markdown too (CI checks it): generated tables are written
// unaligned, then formatted in place. Best effort: a report is never lost to the formatter.
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

export function formatMarkdown(url) {
  try {
    const biome = createRequire(import.meta.url).resolve('@biomejs/biome/bin/biome');
    execFileSync(process.execPath, [biome, 'format', '--write', fileURLToPath(url)], { stdio: 'ignore' });
  } catch {
    // Left unformatted: `npx biome format --write bench/*.md` fixes it.
  }
}
