// `npm run build`: the production build the image runs with plain node. Compiles src/ to dist/
// (tsconfig.build.json) and bundles the workflow code into dist/workflow-bundle.js, which the compiled
// worker loads instead of running webpack at start. dist/ is emptied first, so no stale module ships.
import { execFileSync } from 'node:child_process';
import { rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleOrderWorkflows, TRACED_WORKFLOW_BUNDLE_FILE, WORKFLOW_BUNDLE_FILE } from '../src/worker/order-worker.js';
import { BUILD_ID_FILE, sourceBuildId } from '../src/worker/deployment.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DIST = join(ROOT, 'dist');

rmSync(DIST, { recursive: true, force: true });
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
execFileSync(process.execPath, [tsc, '-p', join(ROOT, 'tsconfig.build.json')], { stdio: 'inherit' });
// The build ID the compiled worker joins its worker deployment as: the package version plus the commit
// (GIT_COMMIT where the build has no .git, as in the image).
const buildId = sourceBuildId(process.env.GIT_COMMIT || undefined);
writeFileSync(join(DIST, BUILD_ID_FILE), `${buildId}\n`);
// The worker loads the traced bundle when tracing is on (OTEL_EXPORTER_OTLP_ENDPOINT), the plain one otherwise.
const sizes: string[] = [];
for (const [file, traced] of [
  [WORKFLOW_BUNDLE_FILE, false],
  [TRACED_WORKFLOW_BUNDLE_FILE, true],
] as const) {
  writeFileSync(join(DIST, file), await bundleOrderWorkflows({ traced }));
  sizes.push(`${file} ${Math.round(statSync(join(DIST, file)).size / 1024)} KB`);
}
console.log(`Built ${DIST} as build ${buildId}: compiled src/ and the workflow bundles (${sizes.join(', ')})`);
