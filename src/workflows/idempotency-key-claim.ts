/**
 * Holds one Idempotency-Key for one order. The run's workflow ID, `idempotency-key-<key>`, is what
 * makes the claim: Temporal refuses a second start of that ID at once (strongly consistent, unlike a
 * visibility query). The API reads the claimed order from the run's memo; the run only returns it, so
 * it closes at once and shows in the Web UI as a completed run whose result names the order.
 */
export async function idempotencyKeyClaim(orderWorkflowId: string): Promise<string> {
  return orderWorkflowId;
}
