/** The benchmark's figures: from raw timings to the JSON record and the Markdown table. */
import { arch, cpus, release, totalmem, type as osType } from 'node:os';
import type { PhaseTimings } from './load.js';
import type { ProcessUsage } from './process-usage.js';
import { fixed, latencyTriple, ms, ratio, summarize, times, type LatencySummary } from './stats.js';

export const TABLE_HEADER = '| metric | pipeline | baseline | ours / baseline |';

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
  orders: number;
  concurrency: number;
  latencyMs: number;
  warmupOrders: number;
  smoke: boolean;
}

export interface BenchReport {
  createdAt: string;
  config: BenchConfig;
  machine: MachineInfo;
  pipeline: PhaseReport;
  baseline: PhaseReport;
  /** ours / baseline: below 1 for throughput, above 1 for latency, means the pipeline costs more. */
  ratios: { throughput: number | null; e2eP50: number | null; e2eP95: number | null; workerCpuPerOrder: number | null };
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

export function phaseReport(timings: PhaseTimings, concurrency: number, usage: PhaseUsage): PhaseReport {
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
  };
}

export function benchReport(config: BenchConfig, machine: MachineInfo, pipeline: PhaseReport, baseline: PhaseReport): BenchReport {
  return {
    createdAt: new Date().toISOString(),
    config,
    machine,
    pipeline,
    baseline,
    ratios: {
      throughput: ratio(pipeline.throughputPerSecond, baseline.throughputPerSecond),
      e2eP50: ratio(pipeline.e2eLatencyMs.p50, baseline.e2eLatencyMs.p50),
      e2eP95: ratio(pipeline.e2eLatencyMs.p95, baseline.e2eLatencyMs.p95),
      workerCpuPerOrder: ratio(pipeline.workerCpuMsPerOrder, baseline.workerCpuMsPerOrder),
    },
  };
}

function cpuAndPeak(usage: ProcessUsage | null): string {
  if (usage === null) return '—';
  const peak = usage.peakRssScope === 'process lifetime' ? `${fixed(usage.peakRssMb, 0)} (lifetime)` : fixed(usage.peakRssMb, 0);
  return `${fixed(usage.cpuSeconds, 1)} / ${peak}`;
}

/** The Markdown table, with the run's settings and machine below it. */
export function markdownTable(report: BenchReport): string {
  const { pipeline: ours, baseline: base, ratios, config, machine } = report;
  const rows: [string, string, string, string][] = [
    ['orders (in flight)', `${ours.orders} (${ours.concurrency})`, `${base.orders} (${base.concurrency})`, ''],
    ['throughput, completed orders/s', fixed(ours.throughputPerSecond, 1), fixed(base.throughputPerSecond, 1), times(ratios.throughput)],
    ['start latency p50 / p95 / p99, ms', latencyTriple(ours.startLatencyMs), latencyTriple(base.startLatencyMs), ''],
    ['end-to-end latency p50, ms', ms(ours.e2eLatencyMs.p50), ms(base.e2eLatencyMs.p50), times(ratios.e2eP50)],
    ['end-to-end latency p95, ms', ms(ours.e2eLatencyMs.p95), ms(base.e2eLatencyMs.p95), times(ratios.e2eP95)],
    ['end-to-end latency p99, ms', ms(ours.e2eLatencyMs.p99), ms(base.e2eLatencyMs.p99), times(ratio(ours.e2eLatencyMs.p99, base.e2eLatencyMs.p99))],
    ['worker CPU s / peak RSS MB', cpuAndPeak(ours.usage.worker), cpuAndPeak(base.usage.worker), ''],
    ['worker CPU per order, ms', fixed(ours.workerCpuMsPerOrder, 2), fixed(base.workerCpuMsPerOrder, 2), times(ratios.workerCpuPerOrder)],
    ['Temporal server CPU s / peak RSS MB', cpuAndPeak(ours.usage.temporalServer), cpuAndPeak(base.usage.temporalServer), ''],
    ['API CPU s / peak RSS MB', cpuAndPeak(ours.usage.api), cpuAndPeak(base.usage.api), ''],
    ['bench process CPU s (load generator; stand-ins in the pipeline)', fixed(ours.usage.benchProcess.cpuSeconds, 1), fixed(base.usage.benchProcess.cpuSeconds, 1), ''],
  ];
  // A paid order's provider calls: Stripe's customer read, create and confirm, Resend, the order backend.
  const providerMs = 5 * config.latencyMs;
  return [
    TABLE_HEADER,
    '|---|--:|--:|--:|',
    ...rows.map((cells) => `| ${cells.join(' | ')} |`),
    '',
    `Pipeline: HTTP trigger -> API -> \`orderProcessing\` (parseOrder as a local activity, then createPaymentIntent, confirmPaymentIntent, sendReceipt, updateOrderStatus), run as \`npm start\` runs it ` +
      `(payloads encrypted, metrics on); an order is complete when the order backend stand-in has answered its PATCH. Baseline: \`client.workflow.start\` -> a workflow of 5 do-nothing activities (the first local, like parseOrder; two with Charge Card's retry policy), complete when ` +
      `\`handle.result()\` resolves. Stand-in latency ${config.latencyMs} ms per provider call: ${providerMs} ms of each pipeline order's ` +
      `end-to-end latency is modelled provider time (Stripe 3 calls, Resend, order backend). Warm-up: ${config.warmupOrders} orders per side, not counted. ` +
      `CPU and peak RSS are per phase.`,
    '',
    `Machine: ${machine.cpuCount} × ${machine.cpuModel}, ${machine.totalMemoryGb} GB RAM, ${machine.os}, Node ${machine.node}, ` +
      `${machine.temporalCli} (in-memory dev server); load average ${machine.loadAverageAtStart.toFixed(2)} at the start.`,
  ].join('\n');
}

/** The console summary: the ratios in a sentence, then the table. */
export function summaryText(report: BenchReport): string {
  const { ratios } = report;
  return [
    `Ours / baseline: throughput ${times(ratios.throughput)}, end-to-end p50 ${times(ratios.e2eP50)}, p95 ${times(ratios.e2eP95)}.`,
    '',
    markdownTable(report),
  ].join('\n');
}
