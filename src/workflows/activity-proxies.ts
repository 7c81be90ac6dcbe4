import { proxyActivities, proxyLocalActivities, type ActivityOptions, type LocalActivityOptions } from '@temporalio/workflow';
import type { OrderActivities } from '../activities/index.js';
import { STEP_NAMES } from './names.js';

/** One activity of the order workflows, scheduled with `options` and its seed step as summary (the Web UI shows it). */
export function orderActivity<K extends keyof OrderActivities>(name: K, options: ActivityOptions): OrderActivities[K] {
  return proxyActivities<OrderActivities>({ ...options, summary: STEP_NAMES[name] })[name];
}

/** The same, as a local activity (run by the workflow's own worker, recorded as a marker). */
export function localOrderActivity<K extends keyof OrderActivities>(name: K, options: LocalActivityOptions): OrderActivities[K] {
  return proxyLocalActivities<OrderActivities>({ ...options, summary: STEP_NAMES[name] })[name];
}
