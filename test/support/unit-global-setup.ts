import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';
import type { TestProject } from 'vitest/node';
import { FAILURE_CONVERTER_PATH } from '../../src/codec/data-converter.js';
import { ensureTestServer, type FoundTestServer } from '../../dev/java-test-server.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The unit tier's workflow bundle (test/support/time-skipping-workflows.ts). */
    timeSkippingBundlePath: string;
    /** The time-skipping test server each workflow test file starts. */
    testServer: FoundTestServer;
  }
}

/**
 * The unit tier starts no server: it finds (or builds, once per run) the time-skipping test server that
 * each workflow test file starts for itself, and bundles the workflow code once for all of them.
 */
export default async function setup(project: TestProject) {
  const testServer = await ensureTestServer();
  const bundleDir = mkdtempSync(join(tmpdir(), 'order-processing-unit-bundle-'));
  const bundlePath = join(bundleDir, 'workflow-bundle.js');
  const { code } = await bundleWorkflowCode({
    workflowsPath: fileURLToPath(new URL('./time-skipping-workflows.ts', import.meta.url)),
    failureConverterPath: FAILURE_CONVERTER_PATH,
    logger: new DefaultLogger('WARN'),
  });
  writeFileSync(bundlePath, code);
  project.provide('timeSkippingBundlePath', bundlePath);
  project.provide('testServer', testServer);
  return () => rmSync(bundleDir, { recursive: true, force: true });
}
