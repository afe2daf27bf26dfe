// Argument parsing for the `tracewire` command: `init` and `doctor`.
import { runDoctorCommand } from './doctor.js';
import { EXIT, runInit } from './init.js';

export const USAGE = `usage: tracewire init [dir] [--dry-run] [--force] [--no-install] [--uninstall]
                      [--problem-details[=first]]
       tracewire doctor [--json] [--cwd <dir>]

init      adds tracewire to the service in dir (default: .) by editing its source
  --dry-run            print the unified diff, write nothing
  --force              run on a dirty git tree (or outside git)
  --no-install         add the dependencies to package.json without running the package manager
  --uninstall          remove exactly what earlier runs added (recorded in .tracewire-init.json)
  --problem-details    also answer errors with problem+json (changes error responses);
                       =first puts the Express handler before the app's own error handlers
doctor    why spans or metrics may be missing (runs @tracewire/node's doctor of the project)

init exit status: 0 done, 1 done but some steps are left to do by hand (printed with file:line),
2 bad usage, 3 refused (dirty git tree, no package.json), 4 a file could not be parsed or the
install failed. The last line is always: tracewire init: <n> changed, <n> manual, <n> failed
`;

/**
 * Runs the command line; resolves to the exit status.
 *
 * @example
 * process.exitCode = await main(['init', '.', '--dry-run']);
 */
export async function main(
  argv: readonly string[],
  write: (text: string) => void = (t) => process.stdout.write(t),
): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    write(USAGE);
    return command === undefined ? EXIT.usage : EXIT.ok;
  }
  if (command === 'doctor') return runDoctorCommand(rest, write);
  if (command !== 'init') {
    write(`tracewire: unknown command ${command}\n\n${USAGE}`);
    return EXIT.usage;
  }
  let dir: string | undefined;
  const options = {
    dryRun: false,
    force: false,
    install: true,
    uninstall: false,
    problemDetails: false,
    problemDetailsFirst: false,
  };
  for (const arg of rest) {
    if (arg === '--dry-run') options.dryRun = true;
    else if (arg === '--force') options.force = true;
    else if (arg === '--no-install') options.install = false;
    else if (arg === '--uninstall') options.uninstall = true;
    else if (arg === '--problem-details') options.problemDetails = true;
    else if (arg === '--problem-details=first') {
      options.problemDetails = true;
      options.problemDetailsFirst = true;
    } else if (!arg.startsWith('-') && dir === undefined) dir = arg;
    else {
      write(`tracewire init: unknown option ${arg}\n\n${USAGE}`);
      return EXIT.usage;
    }
  }
  return runInit({ ...options, ...(dir === undefined ? {} : { dir }), write }).exitCode;
}
