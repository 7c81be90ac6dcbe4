/**
 * How the local stack's processes are started, waited on and stopped: by `npm start`, the benchmark,
 * the fault suite and the tests alike (dev/stack.ts puts them together).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { TEMPORAL_CLI } from './tools.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const OUTPUT_TAIL_CHARS = 4_000;

/** A started process, with the last few KB of its output for error messages. */
export interface StartedProcess {
  /** What it is, in messages ("worker", "temporal server"). */
  name: string;
  child: ChildProcess;
  output(): string;
}

/** A TypeScript entry point of the project, run with node + tsx. */
export interface ProjectEntry {
  name: string;
  /** Relative to the project root. */
  path: string;
  /** Node options before the entry point (the benchmark's `--cpu-prof`). */
  nodeArgs?: string[];
}

/** The entry points of `npm run worker` and `npm run api`. */
export const WORKER: ProjectEntry = { name: 'worker', path: 'src/worker.ts' };
export const API: ProjectEntry = { name: 'api', path: 'src/api/server.ts' };
/** `npm run codec-server`. */
export const CODEC_SERVER: ProjectEntry = { name: 'codec server', path: 'src/codec/server.ts' };

export interface SpawnOptions {
  env?: Record<string, string>;
  /** Each non-empty output line, as it comes. */
  onLine?: (line: string) => void;
  /** Run as this user and group (a server that refuses to run as root: PostgreSQL). */
  uid?: number;
  gid?: number;
  /**
   * In a process group of its own, so that Ctrl-C in the terminal does not reach it: the caller stops
   * it, in its turn (a database after the processes that use it).
   */
  detached?: boolean;
}

/** Starts a process with its output piped: kept as a tail for errors, and passed line by line to `onLine`. */
export function spawnProcess(
  name: string,
  command: string,
  args: string[],
  { env, onLine, uid, gid, detached }: SpawnOptions = {},
): StartedProcess {
  const child = spawn(command, args, { cwd: ROOT, env: env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'], uid, gid, detached });
  let tail = '';
  for (const stream of [child.stdout, child.stderr]) {
    stream?.setEncoding('utf8');
    stream?.on('data', (chunk: string) => {
      tail = (tail + chunk).slice(-OUTPUT_TAIL_CHARS);
      if (onLine) for (const line of chunk.split('\n')) if (line.trim()) onLine(line);
    });
  }
  return { name, child, output: () => tail };
}

/**
 * The local environment minus Temporal connection settings (TEMPORAL_ADDRESS, TEMPORAL_API_KEY,
 * TEMPORAL_PROFILE...), so a shell pointed at a cluster cannot redirect a local process: each caller
 * passes the TEMPORAL_* settings it means.
 */
function localEnv(): Record<string, string> {
  return Object.fromEntries(
    Object.entries(process.env).filter(
      (entry): entry is [string, string] =>
        entry[1] !== undefined && (!entry[0].startsWith('TEMPORAL_') || entry[0] === TEMPORAL_CLI.envVar),
    ),
  );
}

/**
 * Starts a project process with node + tsx directly (no npm or shell wrapper, so a signal reaches the
 * process itself), with the local environment plus `env`.
 */
export function startProjectProcess(entry: ProjectEntry, env: Record<string, string>, onLine?: (line: string) => void): StartedProcess {
  const started = spawnProcess(entry.name, process.execPath, [...(entry.nodeArgs ?? []), '--import', 'tsx', entry.path], {
    env: { ...localEnv(), ...env },
    ...(onLine && { onLine }),
  });
  if (started.child.pid === undefined) throw new Error(`Could not start the ${entry.name} (${entry.path})`);
  return started;
}

export function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

function describeExit(child: ChildProcess): string {
  return child.signalCode ?? `code ${child.exitCode}`;
}

export interface WaitOptions {
  timeoutMs: number;
  /** What is awaited, in the error: "the API to answer on http://.../readyz". */
  what: string;
  /** Fail at once, with its output, if this process exits first. */
  process?: StartedProcess;
  intervalMs?: number;
}

/**
 * Polls `condition` until it gives a truthy value, and resolves with it. Fails when the timeout passes,
 * or when the watched process exits first. The one wait-until of the local stack.
 */
export async function waitUntil<T>(
  condition: () => T | Promise<T>,
  { timeoutMs, what, process: watched, intervalMs = 200 }: WaitOptions,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  const output = () => (watched && watched.output() ? `:\n${watched.output()}` : '');
  for (;;) {
    if (watched && hasExited(watched.child))
      throw new Error(`The ${watched.name} exited (${describeExit(watched.child)}) before ${what}${output()}`);
    const value = await condition();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`Gave up after ${timeoutMs / 1000}s waiting for ${what}${output()}`);
    await sleep(intervalMs);
  }
}

/** Whether a GET of `url` answers 2xx (false while nothing listens). */
export function answersOk(url: string, init?: RequestInit): Promise<boolean> {
  return fetch(url, init).then(
    (response) => response.ok,
    () => false,
  );
}

/**
 * SIGTERM (or the process's own stop signal: SIGINT is PostgreSQL's fast shutdown), then SIGKILL after
 * `graceMs`; resolves when the process has exited, with whether it had to be killed. The one
 * stop-process of the local stack.
 */
export async function stopProcess(child: ChildProcess, graceMs = 15_000, signal: NodeJS.Signals = 'SIGTERM'): Promise<{ killed: boolean }> {
  if (hasExited(child)) return { killed: false };
  const exited = once(child, 'exit');
  const grace = new AbortController();
  child.kill(signal);
  const killed = await Promise.race([exited.then(() => false), sleep(graceMs, true, { signal: grace.signal })]);
  grace.abort();
  if (killed) child.kill('SIGKILL');
  await exited;
  return { killed };
}

/** Whether nothing listens on 127.0.0.1:`port`. */
export function isPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}

/** A free loopback port. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** `count` free loopback ports, all different (a port just probed and released may be handed out again). */
export async function freePorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) ports.add(await freePort());
  return [...ports];
}
