import type { OrderActivities } from '../activities/index.js';

/**
 * The seed's node names, by activity type: each activity's summary in the Web UI and `temporal workflow
 * describe`, and its step in the API's run timeline. Charge Card is several requests to Stripe.
 */
export const STEP_NAMES = {
  parseOrder: 'Parse Order',
  chargeCard: 'Charge Card',
  createPaymentIntent: 'Charge Card: create PaymentIntent',
  confirmPaymentIntent: 'Charge Card: confirm PaymentIntent',
  lookUpPayment: 'Charge Card: ask Stripe',
  cancelPaymentIntent: 'Charge Card: cancel PaymentIntent',
  paymentSettings: 'Charge Card: read payment settings',
  sendPaymentAction: 'Charge Card: ask the customer to confirm',
  refundPayment: 'Refund',
  lookUpRefund: 'Refund: ask Stripe',
  sendReceipt: 'Send Receipt',
  notifyOps: 'Notify Ops',
  updateOrderStatus: 'Update Order Status',
  findOutcomeMismatches: 'Reconcile: compare Stripe with the recorded outcomes',
} as const satisfies Record<keyof OrderActivities, string>;

/** The step an activity type belongs to; a type this build does not know (an older run's) is shown as is. */
export function stepName(activityType: string): string {
  return (STEP_NAMES as Record<string, string>)[activityType] ?? activityType;
}
