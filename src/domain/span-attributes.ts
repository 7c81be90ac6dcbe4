/** What the service adds to its OpenTelemetry spans: IDs and attempts, never personal data (docs/operations.md#tracing). */

export const ORDER_ID_ATTRIBUTE = 'order.id';
/** The API request's ID (X-Request-Id), on the request's span. */
export const REQUEST_ID_ATTRIBUTE = 'request.id';
/** Which attempt of an activity a span is: 1, then one more per retry. */
export const ACTIVITY_ATTEMPT_ATTRIBUTE = 'temporal.activity.attempt';
