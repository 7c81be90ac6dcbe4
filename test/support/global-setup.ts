import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { startDevServer } from '../../dev/temporal-server.js';
import { bundleOrderWorkflows } from '../../src/worker/order-worker.js';

declare module 'vitest' {
  export interface ProvidedContext {
    temporalAddress: string;
    workflowBundlePath: string;
    /** TEMPORAL_CODEC_KEYS of this run: a fresh key, so no test depends on a particular one. */
    codecKeys: string;
  }
}

/**
 * One real Temporal dev server (in-memory SQLite), one workflow bundle and one encryption key for the
 * whole run. The key is also put in this process's environment, which the test processes inherit (the
 * harness hands it to the worker and API processes it starts): encryption is on everywhere, as in production.
 */
export default async function setup(project: TestProject) {
  const codecKeys = `test-${randomBytes(4).toString('hex')}:${randomBytes(32).toString('base64')}`;
  process.env.TEMPORAL_CODEC_KEYS = codecKeys;
  delete process.env.TEMPORAL_CODEC_DISABLED;
  const server = await startDevServer();
  console.log(`Temporal dev server for tests at ${server.address}; temporal binary: ${server.route}`);
  const bundleDir = mkdtempSync(join(tmpdir(), 'order-processing-bundle-'));
  const workflowBundlePath = join(bundleDir, 'workflow-bundle.js');
  writeFileSync(workflowBundlePath, await bundleOrderWorkflows());
  project.provide('temporalAddress', server.address);
  project.provide('workflowBundlePath', workflowBundlePath);
  project.provide('codecKeys', codecKeys);
  return async () => {
    await server.stop();
    rmSync(bundleDir, { recursive: true, force: true });
  };
}
