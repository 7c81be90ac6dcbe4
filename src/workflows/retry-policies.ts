/** The seed's Charge Card retries `{ limit: 3, delay: '5 seconds', backoff: 'exponential' }`: 4 attempts, 5/10/20 s apart. */
export const CHARGE_RETRY = { initialInterval: '5 seconds', backoffCoefficient: 2, maximumAttempts: 4 } as const;
