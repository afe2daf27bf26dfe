#!/usr/bin/env node
// `tracewire doctor [--json] [--cwd <dir>]`: explains why spans or metrics may be missing.
// `tracewire init` lives in @tracewire/cli (its parser is no dependency of the bootstrap): both
// packages declare the `tracewire` command, and whichever one npm linked runs both subcommands.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { formatDoctorReport, runDoctor } from './doctor.js';

const USAGE = `usage: tracewire doctor [--json] [--cwd <dir>]
       tracewire init [dir] [options]   (from @tracewire/cli; see npx @tracewire/cli --help)

Reads the installed node_modules tree and the OTEL_* environment and reports every copy of
@opentelemetry/api and of the SDK packages (with who pulls them in), combinations that silently
turn tracing into a no-op, mixed @tracewire versions, configuration that turns signals off, and
official OpenTelemetry instrumentations installed beside the @tracewire package that does the same
(with what to remove or disable). Double spans at run time: runDoctor({ runtime: true }) in the app.
Exit status: 0 when no error was found, 1 when one was, 2 on bad usage.
`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(USAGE);
    return command === undefined ? 2 : 0;
  }
  if (command === 'init') return forwardToCli(argv);
  if (command !== 'doctor') {
    process.stderr.write(`unknown command: ${command}\n\n${USAGE}`);
    return 2;
  }
  let json = false;
  let cwd: string | undefined;
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i];
    if (arg === '--json') json = true;
    else if (arg === '--cwd' && rest[i + 1] !== undefined) cwd = rest[++i];
    else {
      process.stderr.write(`unknown option: ${arg}\n\n${USAGE}`);
      return 2;
    }
  }
  const report = await runDoctor(cwd === undefined ? {} : { cwd });
  process.stdout.write(json ? `${JSON.stringify(report, null, 2)}\n` : `${formatDoctorReport(report)}\n`);
  return report.findings.some((f) => f.severity === 'error') ? 1 : 0;
}

/** Runs `tracewire init` from the @tracewire/cli installed in the project (or beside this package). */
function forwardToCli(argv: string[]): number {
  let bin: string | undefined;
  for (const base of [join(process.cwd(), 'package.json'), import.meta.url]) {
    try {
      const manifest = createRequire(base).resolve('@tracewire/cli/package.json');
      const pkg = JSON.parse(readFileSync(manifest, 'utf8')) as { bin?: Record<string, string> };
      const relative = pkg.bin?.tracewire;
      if (relative !== undefined) {
        bin = join(dirname(manifest), relative);
        break;
      }
    } catch {
      // not installed there
    }
  }
  if (bin === undefined) {
    process.stderr.write(
      'tracewire init is part of @tracewire/cli, which is not installed here: run `npx @tracewire/cli init`\n',
    );
    return 2;
  }
  const result = spawnSync(process.execPath, [bin, ...argv], { stdio: 'inherit' });
  return result.status ?? 1;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`tracewire: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 2;
  },
);
