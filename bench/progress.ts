/**
 * Live progress on stderr: a redrawn bar when stderr is a terminal, otherwise one line each 10 %
 * (CI logs stay short). Other lines written meanwhile go through `note` so the bar is not torn.
 */

import { progressBar } from './stats.js';

let active: Progress | undefined;

/** Writes a line to stderr, keeping a live progress bar below it. */
export function note(line: string): void {
  if (active?.isTty) process.stderr.write('\r\x1b[K');
  process.stderr.write(`${line}\n`);
  active?.redraw();
}

export class Progress {
  readonly isTty = Boolean(process.stderr.isTTY);
  private done = 0;
  private detail = '';
  private lastDecile = 0;
  private lastDrawAt = 0;
  private readonly startedAt = Date.now();

  private constructor(
    private readonly label: string,
    private readonly total: number,
  ) {}

  /** A bar drawn at once, and the one `note` keeps below its lines until it finishes. */
  static start(label: string, total: number): Progress {
    const progress = new Progress(label, total);
    active = progress;
    progress.redraw();
    return progress;
  }

  update(done: number, detail = ''): void {
    this.done = done;
    this.detail = detail;
    if (this.isTty) {
      if (Date.now() - this.lastDrawAt >= 100 || done === this.total) this.redraw();
      return;
    }
    const decile = Math.floor((done / this.total) * 10);
    if (decile > this.lastDecile) {
      this.lastDecile = decile;
      process.stderr.write(`${this.line()}\n`);
    }
  }

  redraw(): void {
    if (!this.isTty) return;
    this.lastDrawAt = Date.now();
    process.stderr.write(`\r\x1b[K${this.line()}`);
  }

  finish(): void {
    if (this.isTty) process.stderr.write(`\r\x1b[K${this.line()}\n`);
    if (active === this) active = undefined;
  }

  private line(): string {
    const seconds = ((Date.now() - this.startedAt) / 1000).toFixed(1);
    return `${this.label} ${progressBar(this.done, this.total)} ${this.done}/${this.total} completed${this.detail ? `, ${this.detail}` : ''} (${seconds}s)`;
  }
}
