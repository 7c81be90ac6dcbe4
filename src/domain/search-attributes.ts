import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import type { OrderRecordStatus } from './order.js';

/**
 * The order's outcome on its run, written by the workflow as soon as it is known, so the Web UI list,
 * `temporal workflow list --query "OrderOutcome = 'paid'"` and `GET /api/runs?outcome=` agree.
 */
export const ORDER_OUTCOME = defineSearchAttributeKey('OrderOutcome', SearchAttributeType.KEYWORD);

/** The outcomes OrderOutcome takes: the status the order backend is told, or `invalid` when Parse Order refused it. */
export type OrderOutcome = OrderRecordStatus | 'invalid';
export const ORDER_OUTCOMES = [
  'paid',
  'payment_failed',
  'payment_pending',
  'refunded',
  'cancelled',
  'invalid',
] as const satisfies readonly OrderOutcome[];

/** A trigger's Idempotency-Key on the order's run, so a key can be traced to its run. */
export const ORDER_IDEMPOTENCY_KEY = defineSearchAttributeKey('OrderIdempotencyKey', SearchAttributeType.KEYWORD);

/** A Keyword search attribute the service needs registered in its namespace, and what it is for. */
export interface OrderSearchAttribute {
  key: typeof ORDER_OUTCOME;
  purpose: string;
}

/** Every search attribute the service writes: the dev server, the cluster and compose register these. */
export const ORDER_SEARCH_ATTRIBUTES: readonly OrderSearchAttribute[] = [
  { key: ORDER_OUTCOME, purpose: 'every order run records its outcome in it' },
  { key: ORDER_IDEMPOTENCY_KEY, purpose: 'a trigger with an Idempotency-Key records the key in it' },
];
