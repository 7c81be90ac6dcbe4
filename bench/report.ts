/** The benchmark's figures: from raw timings to the JSON record and the Markdown table. */
import { arch, cpus, release, totalmem, type as osType } from 'node:os';
import type { ClosedLoopTimings } from './drive-closed-loop.js';
import { LIVE_SEARCH_RATE_PER_SECOND, type PhaseTimings, type StripeRequestCounts } from './load.js';
import type { ProcessUsage } from './process-usage.js';
import { fixed, latencyTriple, ms, ratio, signedMs, summarize, times, type LatencySummary } from './stats.js';

export const TABLE_HEADER = '| metric | pipeline | baseline | fetch baseline | ours / baseline | ours / fetch baseline |';
export const CLOSED_LOOP_HEADER =
  '| one order at a time, 0 ms stand-ins | pipeline | baseline | fetch baseline | ours − baseline | ours − fetch baseline |';

export interface PhaseUsage {
  worker: ProcessUsage;
  temporalServer: ProcessUsage;
  /** The API process (the pipeline only). */
  api: ProcessUsage | null;
  /** This process: the load generator, and for the pipeline the four stand-ins. */
  benchProcess: ProcessUsage;
}

export interface PhaseReport {
  orders: number;
  concurrency: number;
  /** First trigger/start sent to the last order completed. */
  durationSeconds: number;
  /** Completed orders per second: orders / durationSeconds. */
  throughputPerSecond: number;
  /** Pipeline: the HTTP trigger's round trip; baseline: `client.workflow.start`'s. */
  startLatencyMs: LatencySummary;
  /** Pipeline: trigger sent to the order backend's PATCH answered; baseline: start sent to `result()` resolved. */
  e2eLatencyMs: LatencySummary;
  /** Worker CPU ms per completed order. */
  workerCpuMsPerOrder: number | null;
  usage: PhaseUsage;
  /** Requests to the Stripe stand-in, whose search answers 429 above live mode's rate (bench/stack.ts). */
  stripe: StripeRequestCounts & { requestsPerOrder: number };
}

export interface MachineInfo {
  cpuModel: string;
  cpuCount: number;
  totalMemoryGb: number;
  os: string;
  node: string;
  temporalCli: string;
  temporalRoute: string;
  /** 1-minute load average when the run started: other work on the machine skews the figures. */
  loadAverageAtStart: number;
}

export interface BenchConfig {
  /** Orders per side in the saturation phases (0 with --closed-loop: none run). */
  orders: number;
  concurrency: number;
  latencyMs: number;
  warmupOrders: number;
  /** Orders per side sent one at a time (stand-ins at 0 ms). */
  closedLoopOrders: number;
  smoke: boolean;
}

/** ours / a baseline: below 1 for throughput, above 1 for latency, CPU and memory, means the pipeline costs more. */
export interface Ratios {
  throughput: number | null;
  e2eP50: number | null;
  e2eP95: number | null;
  workerCpuPerOrder: number | null;
  workerPeakRss: number | null;
}

export interface ClosedLoopSideReport {
  /** `workflow.start`'s round trip. */
  startLatencyMs: LatencySummary;
  /** `workflow.start` sent to `handle.result()` resolved. */
  e2eLatencyMs: LatencySummary;
}

export interface ClosedLoopPipelineReport {
  /** The checkout's answer: the HTTP trigger with `Prefer: wait` sent to its answer with the payment (`paid`). */
  checkoutAnswerMs: LatencySummary;
  /** The same trigger sent to `handle.result()` resolved (receipt sent, backend told). */
  e2eLatencyMs: LatencySummary;
}

export interface ClosedLoopReport {
  orders: number;
  pipeline: ClosedLoopPipelineReport;
  baseline: ClosedLoopSideReport;
  fetchBaseline: ClosedLoopSideReport;
  /** Pipeline p50 minus the baseline's, in ms (the goal: at most 15). */
  p50AboveBaselineMs: number;
  p50AboveFetchBaselineMs: number;
}

export interface BenchReport {
  createdAt: string;
  config: BenchConfig;
  machine: MachineInfo;
  /** The saturation phases: C triggers (starts) in flight. Null with --closed-loop. */
  pipeline: PhaseReport | null;
  baseline: PhaseReport | null;
  fetchBaseline: PhaseReport | null;
  /** ours / the do-nothing baseline (Temporal's own cost). */
  ratios: Ratios | null;
  /** ours / the fetch baseline (Temporal plus a paid order's HTTP requests with plain fetch). */
  ratiosToFetchBaseline: Ratios | null;
  closedLoop: ClosedLoopReport;
}

/** The saturation phases' reports, side by side. */
export interface SaturationReports {
  pipeline: PhaseReport;
  baseline: PhaseReport;
  fetchBaseline: PhaseReport;
}

export function machineInfo(temporalCli: string, temporalRoute: string, loadAverageAtStart: number): MachineInfo {
  const cores = cpus();
  return {
    cpuModel: cores[0]?.model.trim() ?? 'unknown',
    cpuCount: cores.length,
    totalMemoryGb: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
    os: `${osType()} ${release()} ${arch()}`,
    node: process.version,
    temporalCli: temporalCli.split('\n')[0] ?? temporalCli,
    temporalRoute,
    loadAverageAtStart,
  };
}

export function phaseReport(timings: PhaseTimings, concurrency: number, usage: PhaseUsage, stripe: StripeRequestCounts): PhaseReport {
  const durationSeconds = (timings.lastCompletedAt - timings.firstSentAt) / 1000;
  return {
    orders: timings.orders,
    concurrency,
    durationSeconds,
    throughputPerSecond: timings.orders / durationSeconds,
    startLatencyMs: summarize(timings.startLatenciesMs),
    e2eLatencyMs: summarize(timings.e2eLatenciesMs),
    workerCpuMsPerOrder: usage.worker.cpuSeconds === null ? null : (usage.worker.cpuSeconds * 1000) / timings.orders,
    usage,
    stripe: { ...stripe, requestsPerOrder: stripe.total / timings.orders },
  };
}

function ratios(ours: PhaseReport, base: PhaseReport): Ratios {
  return {
    throughput: ratio(ours.throughputPerSecond, base.throughputPerSecond),
    e2eP50: ratio(ours.e2eLatencyMs.p50, base.e2eLatencyMs.p50),
    e2eP95: ratio(ours.e2eLatencyMs.p95, base.e2eLatencyMs.p95),
    workerCpuPerOrder: ratio(ours.workerCpuMsPerOrder, base.workerCpuMsPerOrder),
    workerPeakRss: ratio(ours.usage.worker.peakRssMb, base.usage.worker.peakRssMb),
  };
}

/** The closed loop's figures from each side's latencies (ms). */
export function closedLoopReport(timings: Record<'pipeline' | 'baseline' | 'fetchBaseline', ClosedLoopTimings>): ClosedLoopReport {
  const side = ({ startLatenciesMs, e2eLatenciesMs }: ClosedLoopTimings): ClosedLoopSideReport => ({
    startLatencyMs: summarize(startLatenciesMs),
    e2eLatencyMs: summarize(e2eLatenciesMs),
  });
  const pipeline = {
    checkoutAnswerMs: summarize(timings.pipeline.startLatenciesMs),
    e2eLatencyMs: summarize(timings.pipeline.e2eLatenciesMs),
  };
  const baseline = side(timings.baseline);
  const fetchBaseline = side(timings.fetchBaseline);
  return {
    orders: pipeline.e2eLatencyMs.count,
    pipeline,
    baseline,
    fetchBaseline,
    p50AboveBaselineMs: pipeline.e2eLatencyMs.p50 - baseline.e2eLatencyMs.p50,
    p50AboveFetchBaselineMs: pipeline.e2eLatencyMs.p50 - fetchBaseline.e2eLatencyMs.p50,
  };
}

export function benchReport(
  config: BenchConfig,
  machine: MachineInfo,
  saturation: SaturationReports | null,
  closedLoop: ClosedLoopReport,
): BenchReport {
  return {
    createdAt: new Date().toISOString(),
    config,
    machine,
    pipeline: saturation?.pipeline ?? null,
    baseline: saturation?.baseline ?? null,
    fetchBaseline: saturation?.fetchBaseline ?? null,
    ratios: saturation && ratios(saturation.pipeline, saturation.baseline),
    ratiosToFetchBaseline: saturation && ratios(saturation.pipeline, saturation.fetchBaseline),
    closedLoop,
  };
}

function peak(usage: ProcessUsage): string {
  return usage.peakRssScope === 'process lifetime' ? `${fixed(usage.peakRssMb, 0)} (lifetime)` : fixed(usage.peakRssMb, 0);
}

function cpuAndPeak(usage: ProcessUsage | null): string {
  return usage === null ? '—' : `${fixed(usage.cpuSeconds, 1)} / ${peak(usage)}`;
}

/** The saturation table: C triggers (starts) in flight, each side's worker measured apart. */
function saturationTable(
  ours: PhaseReport,
  base: PhaseReport,
  fetched: PhaseReport,
  toBase: Ratios,
  toFetch: Ratios,
  config: BenchConfig,
): string {
  const sides = [ours, base, fetched];
  const row = (metric: string, cell: (side: PhaseReport) => string, ratioToBase = '', ratioToFetch = '') =>
    `| ${[metric, ...sides.map(cell), ratioToBase, ratioToFetch].join(' | ')} |`;
  const rows = [
    row('orders (in flight)', (side) => `${side.orders} (${side.concurrency})`),
    row(
      'throughput, completed orders/s',
      (side) => fixed(side.throughputPerSecond, 1),
      times(toBase.throughput),
      times(toFetch.throughput),
    ),
    row('start latency p50 / p95 / p99, ms', (side) => latencyTriple(side.startLatencyMs)),
    row('end-to-end latency p50, ms', (side) => ms(side.e2eLatencyMs.p50), times(toBase.e2eP50), times(toFetch.e2eP50)),
    row('end-to-end latency p95, ms', (side) => ms(side.e2eLatencyMs.p95), times(toBase.e2eP95), times(toFetch.e2eP95)),
    row(
      'worker CPU per order, ms',
      (side) => fixed(side.workerCpuMsPerOrder, 2),
      times(toBase.workerCpuPerOrder),
      times(toFetch.workerCpuPerOrder),
    ),
    row('worker peak RSS, MB', (side) => peak(side.usage.worker), times(toBase.workerPeakRss), times(toFetch.workerPeakRss)),
    row('worker CPU, s', (side) => fixed(side.usage.worker.cpuSeconds, 1)),
    row('Temporal server CPU s / peak RSS MB', (side) => cpuAndPeak(side.usage.temporalServer)),
    row('API CPU s / peak RSS MB', (side) => cpuAndPeak(side.usage.api)),
    row('bench process CPU s (load generator; stand-ins but for the baseline)', (side) => fixed(side.usage.benchProcess.cpuSeconds, 1)),
    row('Stripe requests per order', (side) => fixed(side.stripe.requestsPerOrder, 2)),
    row(
      'earlier-payment check: searches / refused 429 / customer lists instead',
      (side) => `${side.stripe.searches} / ${side.stripe.searchesRateLimited} / ${side.stripe.customerLists}`,
    ),
  ];
  // A paid order's provider calls: Stripe's earlier-payment check, customer read, create and confirm, Resend, the order backend.
  const providerMs = 6 * config.latencyMs;
  return [
    TABLE_HEADER,
    '|---|--:|--:|--:|--:|--:|',
    ...rows,
    '',
    `Pipeline: HTTP trigger -> API -> \`orderProcessing\` (parseOrder as a local activity, then createPaymentIntent, confirmPaymentIntent, sendReceipt, updateOrderStatus), run as \`npm start\` runs it ` +
      `(payloads encrypted, metrics on); an order is complete when the order backend stand-in has answered its PATCH. Baseline: \`client.workflow.start\` -> a workflow of 5 do-nothing activities (the first local, like parseOrder; two with Charge Card's retry policy), complete when ` +
      `\`handle.result()\` resolves. Fetch baseline: the same five steps making a paid order's six HTTP requests to the same stand-ins with plain \`fetch\`. Stand-in latency ${config.latencyMs} ms per provider call: ${providerMs} ms of each pipeline order's ` +
      `end-to-end latency is modelled provider time (Stripe 4 calls, Resend, order backend). Stripe's search answers 429 above ${LIVE_SEARCH_RATE_PER_SECOND} requests a second, as in live mode; the check then lists the customer's PaymentIntents. Warm-up: ${config.warmupOrders} orders per side, not counted. ` +
      `CPU and peak RSS are per phase.`,
  ].join('\n');
}

function closedLoopTable(report: ClosedLoopReport): string {
  const { pipeline, baseline, fetchBaseline } = report;
  const latency = (pick: (summary: LatencySummary) => number) =>
    [pipeline, baseline, fetchBaseline].map((side) => ms(pick(side.e2eLatencyMs)));
  const difference = (pick: (summary: LatencySummary) => number) =>
    [baseline, fetchBaseline].map((side) => signedMs(pick(pipeline.e2eLatencyMs) - pick(side.e2eLatencyMs)));
  const rows = (['p50', 'p95', 'p99'] as const).map(
    (p) => `| end-to-end latency ${p}, ms | ${[...latency((summary) => summary[p]), ...difference((summary) => summary[p])].join(' | ')} |`,
  );
  const baselineStarts = [baseline, fetchBaseline].map((side) => ms(side.startLatencyMs.p50));
  rows.push(`| \`workflow.start\` answered p50, ms | — | ${baselineStarts.join(' | ')} |  |  |`);
  rows.push(
    `| the checkout's answer (trigger with \`Prefer: wait\`) p50 / p95 / p99, ms | ${latencyTriple(pipeline.checkoutAnswerMs)} | — | — |  |  |`,
  );
  return [
    CLOSED_LOOP_HEADER,
    '|---|--:|--:|--:|--:|--:|',
    `| orders | ${report.orders} | ${report.orders} | ${report.orders} |  |  |`,
    ...rows,
    '',
    `Closed loop: one order at a time, each sent when the previous run has closed, stand-ins answering at once; an order is complete when \`handle.result()\` resolves ` +
      `(the pipeline's starts with its HTTP trigger, sent as a checkout sends it, with \`Prefer: wait=30\`: its answer carries the payment). ` +
      `The goals: the checkout's answer p50 at most 60 ms (here ${ms(pipeline.checkoutAnswerMs.p50)} ms); the pipeline's p50 at most 15 ms above the baseline's (here ${signedMs(report.p50AboveBaselineMs)} ms).`,
  ].join('\n');
}

/** The Markdown tables, with the run's machine below them. */
export function markdownTable(report: BenchReport): string {
  const { pipeline, baseline, fetchBaseline, ratios: toBase, ratiosToFetchBaseline: toFetch, config, machine } = report;
  const saturation =
    pipeline && baseline && fetchBaseline && toBase && toFetch
      ? [saturationTable(pipeline, baseline, fetchBaseline, toBase, toFetch, config), '']
      : [];
  return [
    ...saturation,
    closedLoopTable(report.closedLoop),
    '',
    `Machine: ${machine.cpuCount} × ${machine.cpuModel}, ${machine.totalMemoryGb} GB RAM, ${machine.os}, Node ${machine.node}, ` +
      `${machine.temporalCli} (in-memory dev server); load average ${machine.loadAverageAtStart.toFixed(2)} at the start.`,
  ].join('\n');
}

/** The console summary: the ratios and the closed loop in a sentence, then the tables. */
export function summaryText(report: BenchReport): string {
  const { ratios: toBase, ratiosToFetchBaseline: toFetch, closedLoop } = report;
  const saturation =
    toBase && toFetch
      ? `Worker CPU per order ${times(toBase.workerCpuPerOrder)} the baseline's (${times(toFetch.workerCpuPerOrder)} the fetch baseline's), ` +
        `peak RSS ${times(toBase.workerPeakRss)} (${times(toFetch.workerPeakRss)}); throughput ${times(toBase.throughput)}. `
      : '';
  return [
    `${saturation}One at a time: p50 ${ms(closedLoop.pipeline.e2eLatencyMs.p50)} ms against ${ms(closedLoop.baseline.e2eLatencyMs.p50)} ms (${signedMs(closedLoop.p50AboveBaselineMs)} ms); ` +
      `the checkout's answer p50 ${ms(closedLoop.pipeline.checkoutAnswerMs.p50)} ms.`,
    '',
    markdownTable(report),
  ].join('\n');
}
