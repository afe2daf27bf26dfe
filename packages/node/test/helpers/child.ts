import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const APP = fileURLToPath(new URL('../fixtures/app.mjs', import.meta.url));

export interface RunningApp {
  child: ChildProcess;
  port: number;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
}

// Only what the test sets, plus PATH/HOME: the parent's OTEL_* variables must not leak in.
function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...extra };
}

/** Spawns the fixture app on this Node (vitest runs on Node 24) and waits for its port. */
export async function runApp(
  env: Record<string, string>,
  script = APP,
  nodeArgs: string[] = [],
): Promise<RunningApp> {
  const child = spawn(process.execPath, [...nodeArgs, script], {
    env: cleanEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout?.on('data', (c: Buffer) => {
    out += c.toString();
  });
  child.stderr?.on('data', (c: Buffer) => {
    err += c.toString();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>(
    (resolve) => {
      child.on('exit', (code, signal) => resolve({ code, signal, at: performance.now() }));
    },
  );
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`app did not start: ${err}`)), 15_000);
    const check = (): void => {
      const m = /\{"port":(\d+)\}/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    };
    child.stdout?.on('data', check);
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`app exited before listening: ${err}`));
    });
  });
  return { child, port, stdout: () => out, stderr: () => err, exited };
}
