export { orderProcessing } from './order-processing.js';
export { idempotencyKeyClaim } from './idempotency-key-claim.js';
export { refundOrder } from './refund-order.js';
export { reconcileOrders, reconcileOrder } from './reconcile-orders.js';
