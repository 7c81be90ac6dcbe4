import { sleep } from '@temporalio/workflow';
import type { OrderActivities } from '../activities/create-activities.js';
import { ORDER_BACKEND_MISCONFIGURED } from '../domain/failures.js';
import { ORDER_STATUS_OPTIONS } from './activity-options.js';
import { failureMessage, failureType } from './activity-failures.js';
import { orderActivity } from './activity-proxies.js';

const updateOrderStatus = orderActivity('updateOrderStatus', ORDER_STATUS_OPTIONS);

/** Refund and reconcile records ride out a misconfigured backend as the order's own records do; runs started before this gave up at once. */
export const MISCONFIGURED_BACKEND_RETRIES = 'misconfigured-backend-retries';

/** A backend that answers as misconfigured (401, 404, 400...) is asked again on this durable backoff, for up to a week. */
const FIRST_BACKEND_RETRY_MS = 60_000;
const LONGEST_BACKEND_RETRY_MS = 60 * 60_000;
const MISCONFIGURED_BACKEND_RETRY_LIMIT_MS = 7 * 24 * 60 * 60_000;

export type OrderStatusRecord = Parameters<OrderActivities['updateOrderStatus']>[0];

/** What a run tells ops of the first misconfigured answer: the backend's answer, and when the run gives up. */
export type TellMisconfigured = (misconfigured: { reason: string; until: string }) => Promise<unknown>;

/**
 * Update Order Status until the backend takes the record: a misconfigured backend is never a refusal, so it is asked again on
 * the durable backoff for up to a week (docs/payments.md#the-order-backends-contract); any other failure is thrown.
 */
export async function recordOrderStatus(record: OrderStatusRecord, tellMisconfigured: TellMisconfigured): Promise<void> {
  let waitMs = FIRST_BACKEND_RETRY_MS;
  let giveUpAt: number | undefined;
  for (;;) {
    try {
      return await updateOrderStatus(record);
    } catch (error) {
      if (failureType(error) !== ORDER_BACKEND_MISCONFIGURED) throw error;
      if (giveUpAt === undefined) {
        giveUpAt = Date.now() + MISCONFIGURED_BACKEND_RETRY_LIMIT_MS;
        await tellMisconfigured({ reason: failureMessage(error), until: new Date(giveUpAt).toISOString() });
      }
      if (Date.now() + waitMs >= giveUpAt) throw error;
      await sleep(waitMs);
      waitMs = Math.min(waitMs * 2, LONGEST_BACKEND_RETRY_MS);
    }
  }
}
