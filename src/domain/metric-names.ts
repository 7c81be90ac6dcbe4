/**
 * The business metrics' names, as Prometheus scrapes them. Constants only: the workflow sandbox
 * imports this module too.
 */

/** Counted by the workflow (worker's endpoint); the worker adds namespace, task_queue and workflow_type labels. */
export const WORKFLOW_COUNTERS = {
  paid: {
    name: 'order_processing_orders_paid',
    description: 'Orders whose card was charged',
  },
  paymentFailed: {
    name: 'order_processing_orders_payment_failed',
    description:
      'Orders whose payment failed, by cause: declined, rejected (Stripe refused the request), no_payment_method, not_charged (Stripe failed and its records show nothing charged), customer_action_timeout (the customer did not confirm in time) or uncertain (runs from before PaymentIntents: retries ran out)',
  },
  refunded: {
    name: 'order_processing_orders_refunded',
    description: 'Paid orders refunded in full because the order backend refused to record them paid',
  },
  paymentUnresolved: {
    name: 'order_processing_orders_payment_unresolved',
    description: 'Orders left payment_pending because Stripe could not settle them within PAYMENT_RECONCILE_TIMEOUT (ops alerted)',
  },
  invalid: {
    name: 'order_processing_orders_invalid',
    description: 'Runs failed by Parse Order as InvalidOrder (nothing charged)',
  },
  receiptFailed: {
    name: 'order_processing_receipts_failed',
    description: 'Paid orders whose receipt email could not be sent',
  },
  opsAlertFailed: {
    name: 'order_processing_ops_alerts_failed',
    description: 'Slack alerts to the payments team that could not be posted',
  },
  reconciliationMismatches: {
    name: 'order_processing_reconciliation_mismatches',
    description:
      'Orders the reconciliation sweep found Stripe and the recorded outcome disagree on, by kind: charged-recorded-unpaid, failed-recorded-paid, refunded-recorded-paid or disputed-recorded-paid (each starts a reconcile run)',
  },
} as const;

export type WorkflowCounter = keyof typeof WORKFLOW_COUNTERS;

/** Why a payment failed: the `cause` label of order_processing_orders_payment_failed. */
export type PaymentFailureCause = 'declined' | 'rejected' | 'no_payment_method' | 'not_charged' | 'customer_action_timeout' | 'uncertain';

/** Served by the API's endpoint. */
export const API_METRICS = {
  ordersStarted: {
    name: 'order_processing_orders_started',
    description: 'Orders whose trigger started a new run (answered 201)',
  },
  requestDuration: {
    name: 'http_request_duration_seconds',
    description: 'API requests by method, route pattern and status code: latency in seconds (_count is the request count)',
  },
} as const;
