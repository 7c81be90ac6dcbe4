/**
 * The local stack as `npm start`, the benchmark, the fault suite and the tests start it: a Temporal
 * dev server, the sandbox stand-ins (in this process), the worker and the API as their own processes,
 * and whatever else a caller registers (the codec server, the benchmark's baseline worker). What has
 * been started is stopped in reverse order, also when start-up fails halfway.
 */
import type { ChildProcess } from 'node:child_process';
import { startSandbox, type Sandbox } from './sandbox/index.js';
import { startDevServer, type DevServer, type DevServerOptions } from './temporal-server.js';
import { hasExited, startProjectProcess, stopProcess, type ProjectEntry, type StartedProcess } from './processes.js';

const PROCESS_STOP_GRACE_MS = 15_000;

export class LocalStack {
  private readonly stoppers: Array<() => Promise<void>> = [];
  private readonly children = new Set<ChildProcess>();
  private stopped: Promise<void> | undefined;

  /** `log` receives the stack's own notices (a process that had to be killed, a failed stop step). */
  constructor(private readonly log: (message: string) => void = console.log) {}

  /** True once `stopAll` has begun: a process exiting after that has not crashed. */
  get stopping(): boolean {
    return this.stopped !== undefined;
  }

  /** Registers a stop step, run by `stopAll` before the steps registered earlier. */
  add(stop: () => Promise<void>): void {
    this.stoppers.push(stop);
  }

  async startTemporal(options: DevServerOptions = {}): Promise<DevServer> {
    const server = await startDevServer(options);
    this.add(() => server.stop());
    return server;
  }

  async startSandbox(): Promise<Sandbox> {
    const sandbox = await startSandbox();
    this.add(() => sandbox.close());
    return sandbox;
  }

  /** A project process (see startProjectProcess), stopped with SIGTERM, then SIGKILL after 15 s. */
  startProcess(entry: ProjectEntry, env: Record<string, string>, onLine?: (line: string) => void): StartedProcess {
    const started = startProjectProcess(entry, env, onLine);
    this.children.add(started.child);
    this.add(async () => {
      const { killed } = await stopProcess(started.child, PROCESS_STOP_GRACE_MS);
      if (killed) this.log(`The ${started.name} did not stop within ${PROCESS_STOP_GRACE_MS / 1000}s of SIGTERM: it was killed.`);
    });
    return started;
  }

  /** Calls `onExit` when the process exits while the stack is not stopping. */
  onUnexpectedExit(started: StartedProcess, onExit: (how: string) => void): void {
    started.child.once('exit', (code, signal) => {
      if (!this.stopping) onExit(signal ?? `code ${code}`);
    });
  }

  /** Stops everything once, newest first; later calls wait for the same stop. */
  stopAll(): Promise<void> {
    this.stopped ??= (async () => {
      for (const stop of this.stoppers.reverse()) {
        await stop().catch((error: unknown) => this.log(`A stop step failed: ${(error as Error).message}`));
      }
    })();
    return this.stopped;
  }

  /** Last resort when this process exits without `stopAll` (synchronous: only signals can be sent). */
  killAllNow(): void {
    for (const child of this.children) if (!hasExited(child)) child.kill('SIGKILL');
  }
}
