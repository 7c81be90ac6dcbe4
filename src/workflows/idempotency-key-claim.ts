/**
 * The workflow ID `idempotency-key-<key>` is the claim: Temporal refuses a second start at once, unlike a lagging visibility
 * query. The run only returns the order, so it closes at once (docs/api.md#idempotency-key).
 */
export async function idempotencyKeyClaim(orderWorkflowId: string): Promise<string> {
  return orderWorkflowId;
}
