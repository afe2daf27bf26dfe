#!/usr/bin/env node
// `npx tracewire init` / `npx tracewire doctor` on a machine where nothing of tracewire is installed
// yet: npx resolves the command `tracewire` to this package, which only runs @tracewire/cli.
import { main } from '@tracewire/cli';

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`tracewire: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 4;
  },
);
