/**
 * Counted from workflow code through the SDK's metricMeter, which drops increments made while replaying: a run replayed after
 * a cache eviction or a worker restart is not counted again.
 */
import { metricMeter } from '@temporalio/workflow';
import type { MismatchKind } from '../domain/reconciliation.js';
import { WORKFLOW_COUNTERS, type PaymentFailureCause, type WorkflowCounter } from '../domain/metric-names.js';

export function countOrderEvent(counter: Exclude<WorkflowCounter, 'paymentFailed' | 'reconciliationMismatches'>): void {
  const { name, description } = WORKFLOW_COUNTERS[counter];
  metricMeter.createCounter(name, undefined, description).add(1);
}

export function countReconciliationMismatch(kind: MismatchKind): void {
  const { name, description } = WORKFLOW_COUNTERS.reconciliationMismatches;
  metricMeter.createCounter(name, undefined, description).add(1, { kind });
}

export function countPaymentFailed(cause: PaymentFailureCause): void {
  const { name, description } = WORKFLOW_COUNTERS.paymentFailed;
  metricMeter.createCounter(name, undefined, description).add(1, { cause });
}
