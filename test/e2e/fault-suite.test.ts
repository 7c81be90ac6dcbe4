import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { spawnProcess } from '../../dev/processes.js';

describe('the fault suite (npm run faults), sized for CI', () => {
  it('loses no order and charges no card twice through worker kills, a Temporal restart, provider faults, burnt keys, failed refunds, a misconfigured backend and re-sent orders', async () => {
    const lines: string[] = [];
    const run = spawnProcess(
      'fault suite',
      process.execPath,
      ['--import', 'tsx', 'faults/run.ts', '--orders', '150', '--kills', '3', '--trigger-seconds', '25'],
      {
        onLine: (line) => lines.push(line),
      },
    );
    const [code] = await once(run.child, 'close');
    const output = lines.join('\n');
    console.log(output);

    expect(code, output).toBe(0);
    expect(output).toContain('No violations');
    expect(output).toMatch(/orders triggered \/ accepted\s+150 \/ 150/);
    expect(output).toMatch(/worker SIGKILLs \/ unexpected worker exits\s+3 \/ 0/);
    expect(output).toMatch(/Temporal server restarts\s+1/);
    // Every mode met at least once, whatever the seed: declines, SCA, burnt keys, processing; refunds pending and failed.
    expect(output).toMatch(
      /declining \/ SCA \/ key-burning \/ processing; refusing backends \(refund pending \/ fails\)\s+[1-9]\d* \/ [1-9]\d* \/ [1-9]\d* \/ [1-9]\d*; [1-9]\d* \([1-9]\d* \/ [1-9]\d*\)/,
    );
    expect(output).toMatch(/refunds \(succeeded \/ pending \/ failed\)\s+\d+ \([1-9]\d* \/ \d+ \/ [1-9]\d*\)/);
    expect(output).toMatch(
      /orders re-sent after their run was deleted \(paid \+ refunded\) \/ searches meanwhile \/ longest deletion ms\s+10 \+ 2 \//,
    );
    expect(output).toMatch(/backend 401 window s \/ orders that met it \/ ops alerts about it\s+\d+\.\d \/ ([5-9]|\d{2,}) \//);
  }, 600_000);
});
