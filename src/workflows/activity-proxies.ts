import { proxyActivities, proxyLocalActivities, type ActivityOptions, type LocalActivityOptions } from '@temporalio/workflow';
import type { OrderActivities } from '../activities/create-activities.js';
import { STEP_NAMES } from './names.js';

/** Every activity carries its step's name as summary, so the Web UI names steps as the API's run timeline does. */
export function orderActivity<K extends keyof OrderActivities>(name: K, options: ActivityOptions): OrderActivities[K] {
  return proxyActivities<OrderActivities>({ ...options, summary: STEP_NAMES[name] })[name];
}

/** The same, as a local activity (run by the workflow's own worker, recorded as a marker). */
export function localOrderActivity<K extends keyof OrderActivities>(name: K, options: LocalActivityOptions): OrderActivities[K] {
  return proxyLocalActivities<OrderActivities>({ ...options, summary: STEP_NAMES[name] })[name];
}
