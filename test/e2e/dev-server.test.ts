/**
 * The tests' dev server is started as npm start and the benchmark start theirs (dev/temporal-server.ts): with every
 * setting of temporal-dynamic-config.yaml, the dispatch pacing among them. Read from the running process's command line.
 */
import { execFileSync } from 'node:child_process';
import { describe, expect, inject, it } from 'vitest';
import { devServerDynamicConfigArgs } from '../../dev/dynamic-config.js';

describe("the tests' Temporal dev server", () => {
  it("runs with the project's dynamic config, dispatch pacing included", () => {
    const port = inject('temporalAddress').split(':').at(-1)!;
    const commandLines = execFileSync('ps', ['-axo', 'args'], { encoding: 'utf8' }).split('\n');
    const server = commandLines.find((line) => line.includes('start-dev') && line.includes(`--port ${port}`));
    expect(server, `a process running start-dev on port ${port}`).toBeDefined();
    expect(server).toContain('history.transferProcessorMaxPollRPS=1000');
    const settings = devServerDynamicConfigArgs().filter((arg) => arg !== '--dynamic-config-value');
    for (const setting of settings) expect(server).toContain(setting);
  });
});
