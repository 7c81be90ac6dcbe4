import { ActivityFailure } from '@temporalio/workflow';
import { RetryState } from '@temporalio/common';
import type { Order } from '../domain/order.js';
import { CHARGE_OUTCOME_UNKNOWN } from '../domain/failures.js';
import { CHARGE_OPTIONS } from './activity-options.js';
import { failureMessage, failureType } from './activity-failures.js';
import { orderActivity } from './activity-proxies.js';
import type { PaymentOutcome } from './charge-card.js';

const chargeCard = orderActivity('chargeCard', CHARGE_OPTIONS);

/**
 * Charge Card for runs started before the `payment-intents` patch: kept so they replay and finish; delete it with the patch's
 * old branch once none is open (docs/payments.md#runs-started-before-paymentintents).
 */
export async function chargeWithChargesApi(order: Order): Promise<PaymentOutcome> {
  try {
    const result = await chargeCard(order);
    if (result.outcome === 'succeeded') return { status: 'paid', chargeId: result.chargeId };
    return { status: 'payment_failed', reason: result.reason, declineCode: result.declineCode, cause: 'declined' };
  } catch (error) {
    if (!(error instanceof ActivityFailure)) throw error;
    const chargeUncertain = error.retryState !== RetryState.NON_RETRYABLE_FAILURE || failureType(error) === CHARGE_OUTCOME_UNKNOWN;
    return { status: 'payment_failed', reason: failureMessage(error), cause: chargeUncertain ? 'uncertain' : 'rejected', chargeUncertain };
  }
}
