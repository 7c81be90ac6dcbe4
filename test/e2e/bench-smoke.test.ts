import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { CLOSED_LOOP_HEADER, TABLE_HEADER, type BenchReport } from '../../bench/report.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
// About 45 s alone; CI runs it beside three other e2e files on two cores, where it took over 120 s.
const BENCH_TIMEOUT_MS = 360_000;
const outDir = mkdtempSync(join(tmpdir(), 'bench-smoke-'));

afterAll(() => rmSync(outDir, { recursive: true, force: true }));

/** `npm run bench -- <args>` in its own process group, killed as a whole if it overruns. */
function runBench(args: string[]): Promise<{ code: number | null; stdout: string; output: string }> {
  return new Promise((resolve, reject) => {
    const bench = spawn('npm', ['run', 'bench', '--', ...args], { cwd: ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let output = '';
    bench.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      output += chunk.toString();
    });
    bench.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    const timer = setTimeout(() => {
      process.kill(-bench.pid!, 'SIGKILL');
      reject(new Error(`npm run bench did not finish within ${BENCH_TIMEOUT_MS / 1000}s:\n${output.slice(-4_000)}`));
    }, BENCH_TIMEOUT_MS);
    bench.once('error', reject);
    bench.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, output });
    });
  });
}

describe('npm run bench -- --smoke', () => {
  it(
    'runs the pipeline and both baselines, at saturation and one at a time, checks every order and writes the figures',
    async () => {
      const { code, stdout, output } = await runBench(['--smoke', '--out', outDir]);
      // The figures belong in the CI log.
      console.log(stdout);
      expect(code, output.slice(-4_000)).toBe(0);
      expect(stdout).toContain(TABLE_HEADER);
      expect(stdout).toContain(CLOSED_LOOP_HEADER);

      const files = readdirSync(outDir);
      const json = files.find((file) => /^bench-.*\.json$/.test(file));
      expect(json, `files in ${outDir}: ${files.join(', ')}`).toBeDefined();
      expect(files).toContain('latest.md');
      expect(files.some((file) => /^bench-.*\.md$/.test(file))).toBe(true);

      const report = JSON.parse(readFileSync(join(outDir, json!), 'utf8')) as BenchReport;
      expect(report.config).toMatchObject({ orders: 60, concurrency: 10, closedLoopOrders: 20, smoke: true });
      for (const side of [report.pipeline, report.baseline, report.fetchBaseline]) {
        expect(side?.orders).toBe(60);
        expect(side?.throughputPerSecond).toBeGreaterThan(0);
        expect(side?.e2eLatencyMs.count).toBe(60);
        expect(side?.startLatencyMs.count).toBe(60);
        expect(side?.workerCpuMsPerOrder).toBeGreaterThan(0);
      }
      // Each paid order asks Stripe once whether it was paid before: a search, or the customer's list when search is refused.
      for (const side of [report.pipeline!, report.fetchBaseline!]) {
        expect(side.stripe.searches).toBeGreaterThanOrEqual(60);
        expect(side.stripe.searches - side.stripe.searchesRateLimited + side.stripe.customerLists).toBe(60);
        expect(side.stripe.requestsPerOrder).toBeGreaterThanOrEqual(4);
      }
      expect(report.baseline?.stripe.total).toBe(0);
      for (const ratios of [report.ratios, report.ratiosToFetchBaseline]) {
        expect(ratios?.throughput).toBeGreaterThan(0);
        expect(ratios?.workerCpuPerOrder).toBeGreaterThan(0);
        expect(ratios?.workerPeakRss).toBeGreaterThan(0);
      }
      const { pipeline: closedPipeline, baseline: closedBaseline, fetchBaseline: closedFetch } = report.closedLoop;
      for (const side of [closedPipeline, closedBaseline, closedFetch]) {
        expect(side.e2eLatencyMs.count).toBe(20);
        expect(side.e2eLatencyMs.p50).toBeGreaterThan(0);
        expect(side.e2eLatencyMs.p99).toBeGreaterThanOrEqual(side.e2eLatencyMs.p50);
      }
      for (const side of [closedBaseline, closedFetch]) {
        expect(side.startLatencyMs.count).toBe(20);
        expect(side.startLatencyMs.p50).toBeLessThan(side.e2eLatencyMs.p50);
      }
      // The checkout's answer (each one checked 'paid') comes before the run has sent the receipt and told the backend.
      expect(closedPipeline.checkoutAnswerMs.count).toBe(20);
      expect(closedPipeline.checkoutAnswerMs.p50).toBeLessThan(closedPipeline.e2eLatencyMs.p50);
      expect(readFileSync(join(outDir, 'latest.md'), 'utf8')).toContain("the checkout's answer");
      expect(report.closedLoop.p50AboveBaselineMs).toBe(
        report.closedLoop.pipeline.e2eLatencyMs.p50 - report.closedLoop.baseline.e2eLatencyMs.p50,
      );
      expect(readFileSync(join(outDir, 'latest.md'), 'utf8')).toContain(TABLE_HEADER);
    },
    BENCH_TIMEOUT_MS + 30_000,
  );
});
