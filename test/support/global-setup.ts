import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';
import type { TestProject } from 'vitest/node';
import { startDevServer } from '../../src/dev/temporal-server.js';
import { WORKFLOWS_PATH } from '../../src/order-worker.js';

declare module 'vitest' {
  export interface ProvidedContext {
    temporalAddress: string;
    workflowBundlePath: string;
  }
}

/** One real Temporal dev server (in-memory SQLite) and one workflow bundle for the whole run. */
export default async function setup(project: TestProject) {
  const server = await startDevServer({ allowDownload: true });
  console.log(`Temporal dev server for tests at ${server.address}; temporal binary: ${server.route}`);
  const bundleDir = mkdtempSync(join(tmpdir(), 'order-processing-bundle-'));
  const workflowBundlePath = join(bundleDir, 'workflow-bundle.js');
  const { code } = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: new DefaultLogger('WARN') });
  writeFileSync(workflowBundlePath, code);
  project.provide('temporalAddress', server.address);
  project.provide('workflowBundlePath', workflowBundlePath);
  return async () => {
    await server.stop();
    rmSync(bundleDir, { recursive: true, force: true });
  };
}
