import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const FAULT_SUITE = fileURLToPath(new URL('../../faults/run.ts', import.meta.url));

describe('the fault suite (npm run faults), sized for CI', () => {
  it('loses no order and charges no card twice through worker kills, a Temporal restart and provider faults', async () => {
    const run = spawn(process.execPath, ['--import', 'tsx', FAULT_SUITE, '--orders', '150', '--kills', '3', '--trigger-seconds', '25'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    run.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    run.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const [code] = await once(run, 'exit');
    console.log(output);

    expect(code, output).toBe(0);
    expect(output).toContain('No violations');
    expect(output).toMatch(/orders triggered \/ accepted\s+150 \/ 150/);
    expect(output).toMatch(/worker SIGKILLs \/ unexpected worker exits\s+3 \/ 0/);
    expect(output).toMatch(/Temporal server restarts\s+1/);
  }, 600_000);
});
