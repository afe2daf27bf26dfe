// `tracewire doctor`: the doctor lives in @tracewire/node (it reads the SDK packages that package
// depends on). The CLI loads the copy installed in the target project, so the answer is about that
// project's tree, and @tracewire/cli does not pull the SDK in.
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

interface NodeDoctor {
  runDoctor(options: { cwd?: string }): Promise<{ findings: { severity: string }[] }>;
  formatDoctorReport(report: unknown): string;
}

/** Exit status as in @tracewire/node's doctor: 0 no error found, 1 an error found, 2 usage or not installed. */
export async function runDoctorCommand(
  args: readonly string[],
  write: (text: string) => void,
): Promise<number> {
  let json = false;
  let cwd = process.cwd();
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === '--json') json = true;
    else if (arg === '--cwd' && args[i + 1] !== undefined) cwd = resolve(args[++i]!);
    else {
      write(`tracewire doctor: unknown option ${arg}\nusage: tracewire doctor [--json] [--cwd <dir>]\n`);
      return 2;
    }
  }
  let doctor: NodeDoctor;
  try {
    const require = createRequire(join(cwd, 'package.json'));
    doctor = (await import(pathToFileURL(require.resolve('@tracewire/node')).href)) as NodeDoctor;
  } catch {
    write(
      `tracewire doctor: @tracewire/node is not installed in ${cwd}; the doctor ships with it:\n  npm install @tracewire/node\n`,
    );
    return 2;
  }
  const report = await doctor.runDoctor({ cwd });
  write(json ? `${JSON.stringify(report, null, 2)}\n` : `${doctor.formatDoctorReport(report)}\n`);
  return report.findings.some((f) => f.severity === 'error') ? 1 : 0;
}
