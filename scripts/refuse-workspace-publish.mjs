// `prepublishOnly` of every workspace package: a package published from its workspace folder would
// ship the repository's `source` export condition (pointing at .ts files it does not contain).
// Releases publish the staged copies instead (`npm run release`, scripts/stage-packages.mjs), whose
// manifests have no scripts, so this never runs for them.
import { readFileSync } from 'node:fs';

const { name } = JSON.parse(readFileSync('package.json', 'utf8'));
console.error(
  `${name}: publish with \`npm run release\` at the repository root ` +
    '(it publishes the staged package, without the repository-only `source` export condition).',
);
process.exit(1);
