/**
 * CPU time and peak memory of another process, read from Linux's /proc. Where /proc is absent
 * (macOS, Windows) every figure is null and is printed as 'n/a'.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';

export interface ProcessUsage {
  /** User + system CPU seconds spent during the measured phase. */
  cpuSeconds: number | null;
  /** Highest resident set size in MB: during the phase, or over the process's life when it could not be reset. */
  peakRssMb: number | null;
  peakRssScope: 'phase' | 'process lifetime' | 'n/a';
}

let clockTicks: number | undefined;

/** Kernel clock ticks per second, the unit of /proc/<pid>/stat's CPU times. */
function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/** User + system CPU seconds of a process (all its threads) so far; null without /proc or once it exited. */
export function cpuSeconds(pid: number): number | null {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // The command name (field 2) is in parentheses and may hold spaces: count fields after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return Number.isFinite(utime) && Number.isFinite(stime) ? (utime + stime) / ticksPerSecond() : null;
}

/** The parent of every process, from /proc (empty without it). */
function parents(): Map<number, number> {
  const parentOf = new Map<number, number>();
  let entries: string[];
  try {
    entries = readdirSync('/proc').filter((entry) => /^\d+$/.test(entry));
  } catch {
    return parentOf;
  }
  for (const entry of entries) {
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      parentOf.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // Exited meanwhile.
    }
  }
  return parentOf;
}

/**
 * CPU seconds of a process and its living descendants (PostgreSQL serves each connection from a child
 * of its postmaster); null without /proc or once the process exited.
 */
export function treeCpuSeconds(pid: number): number | null {
  const own = cpuSeconds(pid);
  if (own === null) return null;
  const parentOf = parents();
  const tree = new Set([pid]);
  for (let grew = true; grew;) {
    grew = false;
    for (const [child, parent] of parentOf) {
      if (tree.has(parent) && !tree.has(child)) {
        tree.add(child);
        grew = true;
      }
    }
  }
  return [...tree].reduce((total, member) => total + (member === pid ? own : (cpuSeconds(member) ?? 0)), 0);
}

/** Peak resident set size in MB (VmHWM); null without /proc or once the process exited. */
export function peakRssMb(pid: number): number | null {
  try {
    const match = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) / 1024 : null;
  } catch {
    return null;
  }
}

/** Resets a process's peak RSS to its current RSS (Linux 4.0+), so a phase's peak is its own. */
export function resetPeakRss(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

/** Measures one process over a phase: `start()` before it, `stop()` after it (while the process still runs). */
export class UsageMeter {
  private cpuAtStart: number | null = null;
  private peakReset = false;

  constructor(readonly pid: number | undefined) {}

  start(): void {
    if (this.pid === undefined) return;
    this.peakReset = resetPeakRss(this.pid);
    this.cpuAtStart = cpuSeconds(this.pid);
  }

  stop(): ProcessUsage {
    if (this.pid === undefined) return { cpuSeconds: null, peakRssMb: null, peakRssScope: 'n/a' };
    const cpuNow = cpuSeconds(this.pid);
    const peak = peakRssMb(this.pid);
    return {
      cpuSeconds: cpuNow === null || this.cpuAtStart === null ? null : cpuNow - this.cpuAtStart,
      peakRssMb: peak,
      peakRssScope: peak === null ? 'n/a' : this.peakReset ? 'phase' : 'process lifetime',
    };
  }
}
