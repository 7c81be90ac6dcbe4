/** Percentiles and the number formats the benchmark prints. */

export interface LatencySummary {
  count: number;
  min: number;
  mean: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

/** The nearest-rank percentile of ascending `sorted` values (p in 0..100). */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) throw new Error('percentile of no values');
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

export function summarize(values: readonly number[]): LatencySummary {
  if (values.length === 0) throw new Error('summarize needs at least one value');
  const sorted = [...values].sort((a, b) => a - b);
  return {
    count: sorted.length,
    min: sorted[0],
    mean: sorted.reduce((sum, value) => sum + value, 0) / sorted.length,
    p50: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    p99: percentile(sorted, 99),
    max: sorted[sorted.length - 1],
  };
}

/** ours / baseline, or null when either is missing or the baseline is zero. */
export function ratio(ours: number | null | undefined, baseline: number | null | undefined): number | null {
  if (ours == null || baseline == null || baseline === 0) return null;
  return ours / baseline;
}

/** A number with `digits` decimals, or 'n/a'. */
export function fixed(value: number | null | undefined, digits = 1): string {
  return value == null || !Number.isFinite(value) ? 'n/a' : value.toFixed(digits);
}

/** Latencies in ms: whole numbers from 10 ms up, one decimal below. */
export function ms(value: number): string {
  return value >= 10 ? value.toFixed(0) : value.toFixed(1);
}

/** A difference in ms with its sign: `+15`, `-4.2`. */
export function signedMs(value: number): string {
  return `${value < 0 ? '-' : '+'}${ms(Math.abs(value))}`;
}

/** `p50 / p95 / p99` in ms. */
export function latencyTriple(summary: LatencySummary): string {
  return `${ms(summary.p50)} / ${ms(summary.p95)} / ${ms(summary.p99)}`;
}

/** A ratio as `0.42×`, or 'n/a'. */
export function times(value: number | null): string {
  return value === null ? 'n/a' : `${value.toFixed(2)}×`;
}

/** A progress bar such as `[########------------]  40%`. */
export function progressBar(done: number, total: number, width = 30): string {
  const fraction = total === 0 ? 1 : Math.min(1, done / total);
  const filled = Math.round(fraction * width);
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${String(Math.floor(fraction * 100)).padStart(3)}%`;
}
