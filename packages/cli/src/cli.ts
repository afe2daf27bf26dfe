#!/usr/bin/env node
// The `tracewire` bin: `tracewire init` and `tracewire doctor`.
import { main } from './command.js';

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`tracewire: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 4;
  },
);
