import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** The project's process entry points, as `npm run worker` and `npm run api` start them. */
export const ENTRY_POINTS = {
  worker: 'src/worker.ts',
  api: 'src/api/server.ts',
} as const;

/**
 * Starts a project process with node + tsx directly (no npm or shell wrapper, so a signal reaches the
 * process itself). Its output lines are passed to `onLine`, or dropped.
 */
export function startProjectProcess(
  entry: keyof typeof ENTRY_POINTS,
  env: Record<string, string>,
  onLine?: (line: string) => void,
): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', ENTRY_POINTS[entry]], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', onLine ? 'pipe' : 'ignore', onLine ? 'pipe' : 'ignore'],
  });
  for (const stream of [child.stdout, child.stderr]) {
    stream?.setEncoding('utf8');
    stream?.on('data', (chunk: string) => {
      for (const line of chunk.split('\n')) if (line.trim()) onLine?.(line);
    });
  }
  return child;
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves when the process has exited. */
export async function stopProcess(child: ChildProcess, graceMs = 15_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  await Promise.race([exited, sleep(graceMs).then(() => child.kill('SIGKILL'))]);
  await exited;
}
