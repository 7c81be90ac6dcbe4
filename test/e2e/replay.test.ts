import { readFileSync } from 'node:fs';
import { describe, expect, it, inject } from 'vitest';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils.js';

Runtime.install({ logger: new DefaultLogger('ERROR') });

/**
 * Histories of real runs, recorded by `npm run record-histories` and committed, one set per version:
 * before the `parse-order-local-activity` patch (Parse Order as an activity task), after it (Charge
 * Card with the Charges API), after the `payment-intents` patch (PaymentIntents, including a run
 * that waited for Stripe on a timer), and after the `customer-action` and `refund-refused-orders`
 * patches (a customer confirming a payment, a paid order its backend refused, refunded).
 */
const HISTORIES = [
  { name: 'order-paid', runEnds: 'completed' },
  { name: 'order-declined', runEnds: 'completed' },
  { name: 'order-paid-local-parse', runEnds: 'completed' },
  { name: 'order-declined-local-parse', runEnds: 'completed' },
  { name: 'order-invalid-local-parse', runEnds: 'failed' },
  { name: 'order-paid-payment-intents', runEnds: 'completed' },
  { name: 'order-declined-payment-intents', runEnds: 'completed' },
  { name: 'order-paid-after-waiting-payment-intents', runEnds: 'completed' },
  { name: 'order-paid-after-customer-action', runEnds: 'completed' },
  { name: 'order-refunded-backend-refused', runEnds: 'completed' },
];

describe('determinism', () => {
  it.each(HISTORIES)('replays the committed $name history (the run $runEnds) with the current workflow code', async ({ name, runEnds }) => {
    const json = JSON.parse(readFileSync(new URL(`../fixtures/${name}.history.json`, import.meta.url), 'utf8'));
    const history = historyFromJSON(json);
    const lastEvent = history.events?.at(-1);
    const ended =
      runEnds === 'completed' ? lastEvent?.workflowExecutionCompletedEventAttributes : lastEvent?.workflowExecutionFailedEventAttributes;
    expect(ended, `the history ends with the run ${runEnds}`).toBeTruthy();

    await expect(
      Worker.runReplayHistory({ workflowBundle: { codePath: inject('workflowBundlePath') } }, history, `order-${name}`),
    ).resolves.toBeUndefined();
  });
});
