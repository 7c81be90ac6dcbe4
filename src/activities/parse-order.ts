import { ApplicationFailure } from '@temporalio/activity';
import type { Order } from '../domain/order.js';
import { INVALID_ORDER } from '../domain/failures.js';
import { InvalidOrderError, parseOrder as validateOrder } from '../domain/validate-order.js';

/** Parse Order: validates and normalises the trigger's params. A bad order fails at once, without retry. */
export async function parseOrder(params: unknown): Promise<Order> {
  try {
    return validateOrder(params);
  } catch (error) {
    if (error instanceof InvalidOrderError) {
      throw ApplicationFailure.create({
        type: INVALID_ORDER,
        message: `Invalid order: ${error.message}`,
        nonRetryable: true,
        details: [{ field: error.field, reason: error.reason }],
      });
    }
    throw error;
  }
}
