/** What the stand-ins recorded about one order: the filters tests assert on, so every test reads the records the same way. */
import type { Sandbox } from '../../dev/sandbox/index.js';
import type { RecordedRequest, StandIn } from '../../dev/sandbox/stand-in.js';
import { workflowIdForOrder } from '../../src/workflows/names.js';

/** A stand-in's requests whose body names the order (order IDs need no escaping in JSON or form bodies). */
export function requestsNaming(standIn: StandIn, orderId: string): RecordedRequest[] {
  return standIn.requests.filter((request) => request.body.includes(orderId));
}

/** Stripe POSTs carrying one of the order's idempotency keys `order-<orderId>/<step>`; with `step`, that step's only. */
export function stripeKeyedRequests(sandbox: Sandbox, orderId: string, step?: string): RecordedRequest[] {
  const keys = `${workflowIdForOrder(orderId)}/`;
  const key = (request: RecordedRequest) => String(request.headers['idempotency-key'] ?? '');
  return sandbox.stripe.requests.filter((request) =>
    step === undefined ? key(request).startsWith(keys) : key(request) === `${keys}${step}`,
  );
}

/** The order backend's requests for the order (PATCH /orders/<orderId>). */
export function backendRequests(sandbox: Sandbox, orderId: string): RecordedRequest[] {
  return sandbox.backend.requests.filter((request) => request.path === `/orders/${orderId}`);
}

/** The statuses the backend was sent for the order, with what it answered. */
export function backendRecords(
  sandbox: Sandbox,
  orderId: string,
): { status: number; body: { status: string } & Record<string, unknown> }[] {
  return backendRequests(sandbox, orderId).map((request) => ({ status: request.status, body: JSON.parse(request.body) }));
}

/** The Slack alerts naming the order. */
export function opsAlerts(sandbox: Sandbox, orderId: string) {
  return sandbox.slack.messages.filter((message) => message.text.includes(orderId));
}

/** The receipts emailed for the order. */
export function receipts(sandbox: Sandbox, orderId: string) {
  return sandbox.resend.emails.filter((email) => email.subject === `Receipt for order ${orderId}`);
}
