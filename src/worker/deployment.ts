import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { isGrpcServiceError, type Client } from '@temporalio/client';
import { status as GrpcStatus } from '@grpc/grpc-js';
import type { Env } from '../config/env.js';

/** The worker deployment every order worker joins (Worker Versioning; docs/deploys.md). */
export const WORKER_DEPLOYMENT_NAME = 'order-processing';

/** The file `npm run build` writes next to the compiled worker: the build ID it was built as. */
export const BUILD_ID_FILE = 'build-id.txt';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** The checkout's git commit, or `unknown` outside a git checkout. */
function gitCommit(): string {
  try {
    return execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], {
      cwd: ROOT,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    return 'unknown';
  }
}

/** The package version plus a git commit, `commit` or the checkout's: `0.1.0+1a2b3c4d5e6f`. */
export function sourceBuildId(commit = gitCommit()): string {
  const { version } = JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')) as { version: string };
  return `${version}+${commit}`;
}

/** WORKER_BUILD_ID; else the compiled build's own (its BUILD_ID_FILE); else the sources' version and commit. */
export function loadWorkerBuildId(env: Env = process.env): string {
  const fromEnv = env.WORKER_BUILD_ID?.trim();
  if (fromEnv) return fromEnv;
  const builtAs = fileURLToPath(new URL(`../${BUILD_ID_FILE}`, import.meta.url));
  return existsSync(builtAs) ? readFileSync(builtAs, 'utf8').trim() : sourceBuildId();
}

const REGISTRATION_PATIENCE_MS = 60_000;

/**
 * Until some version is current, new runs wait at their first workflow task, so a namespace's first build makes itself current
 * (`force`: whatever is current, as `npm start` does); otherwise the operator's deploy decides (docs/deploys.md#first-deploy).
 */
export async function makeCurrentVersion(client: Client, buildId: string, { force = false } = {}): Promise<'made-current' | 'left'> {
  const { namespace } = client.options;
  const service = client.workflowService;
  const deadline = Date.now() + REGISTRATION_PATIENCE_MS;
  for (;;) {
    try {
      const { workerDeploymentInfo } = await service.describeWorkerDeployment({ namespace, deploymentName: WORKER_DEPLOYMENT_NAME });
      const current = workerDeploymentInfo?.routingConfig?.currentDeploymentVersion?.buildId;
      if (current === buildId || (current && !force)) return 'left';
      await service.setWorkerDeploymentCurrentVersion({
        namespace,
        deploymentName: WORKER_DEPLOYMENT_NAME,
        buildId,
        identity: `order-worker ${buildId}`,
      });
      return 'made-current';
    } catch (error) {
      // The deployment or the version is registered by the worker's first poll, a moment after it starts.
      const notYet = isGrpcServiceError(error) && [GrpcStatus.NOT_FOUND, GrpcStatus.FAILED_PRECONDITION].includes(error.code);
      if (!notYet || Date.now() > deadline) throw error;
      await sleep(250);
    }
  }
}
