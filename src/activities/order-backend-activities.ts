import { ApplicationFailure } from '@temporalio/activity';
import type { OrderRecordStatus } from '../domain/order.js';
import { ORDER_BACKEND_MISCONFIGURED, ORDER_BACKEND_UNAVAILABLE, ORDER_STATUS_REJECTED } from '../domain/failures.js';
import { idempotencyKeyFor } from './idempotency.js';
import { PROVIDER_REQUEST_TIMEOUT_MS } from './clients.js';

export interface OrderStatusUpdate {
  orderId: string;
  status: OrderRecordStatus;
  paymentIntentId?: string;
  chargeId?: string;
  /** With `refunded` and `partially_refunded`: everything refunded on the payment so far, minor units. */
  amountRefunded?: number;
}

export interface OrderBackend {
  baseUrl: string;
  token?: string;
}

/** Statuses worth retrying: the backend may accept the same request later. */
function isTransientStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

/** The backend's contract (docs/payments.md): only these answers refuse the order itself; a paid order refused so is refunded. */
const ORDER_REFUSALS = new Set([409, 410]);

/** What to check when the backend answers a 4xx that is not a refusal. */
function misconfigurationHint(status: number): string {
  if (status === 401 || status === 403) return "check the worker's API_TOKEN against the backend's credentials";
  if (status === 404 || status === 405) return "check the worker's API_BASE_URL (the PATCH goes to <API_BASE_URL>/orders/<orderId>)";
  return 'check that the backend accepts the PATCH body documented in docs/payments.md (status, paymentIntentId, chargeId, amountRefunded)';
}

/** The merchant's order backend, reached with fetch: it has no SDK client, only its URL and token. */
export function orderBackendActivities(backend: OrderBackend) {
  /**
   * Update Order Status: PATCH <API_BASE_URL>/orders/<orderId> with the payment outcome. A run may send
   * two statuses (`payment_pending`, then the final one), so the idempotency key names the status.
   */
  async function updateOrderStatus(update: OrderStatusUpdate): Promise<void> {
    const target = `${backend.baseUrl}/orders/${encodeURIComponent(update.orderId)}`;
    let response: Response;
    try {
      response = await fetch(target, {
        method: 'PATCH',
        headers: {
          'content-type': 'application/json',
          'idempotency-key': idempotencyKeyFor(`order-status/${update.status}`),
          ...(backend.token && { authorization: `Bearer ${backend.token}` }),
        },
        body: JSON.stringify({
          status: update.status,
          ...(update.paymentIntentId && { paymentIntentId: update.paymentIntentId }),
          ...(update.chargeId && { chargeId: update.chargeId }),
          ...(update.amountRefunded !== undefined && { amountRefunded: update.amountRefunded }),
        }),
        signal: AbortSignal.timeout(PROVIDER_REQUEST_TIMEOUT_MS),
      });
    } catch (error) {
      const cause = (error as Error & { cause?: Error }).cause?.message ?? (error as Error).message;
      throw ApplicationFailure.retryable(`Order backend unreachable at PATCH ${target}: ${cause}`, ORDER_BACKEND_UNAVAILABLE);
    }
    if (response.ok) {
      await response.body?.cancel();
      return;
    }
    const body = (await response.text().catch(() => '')).slice(0, 300);
    const message = `Order backend answered ${response.status} to PATCH ${target}${body ? `: ${body}` : ''}`;
    if (isTransientStatus(response.status)) throw ApplicationFailure.retryable(message, ORDER_BACKEND_UNAVAILABLE);
    if (ORDER_REFUSALS.has(response.status)) throw ApplicationFailure.nonRetryable(message, ORDER_STATUS_REJECTED);
    throw ApplicationFailure.nonRetryable(`${message}; ${misconfigurationHint(response.status)}`, ORDER_BACKEND_MISCONFIGURED);
  }

  return { updateOrderStatus };
}
