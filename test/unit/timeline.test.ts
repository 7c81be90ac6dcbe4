import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils.js';
import { temporal } from '@temporalio/proto';
import { buildTimeline } from '../../src/api/timeline.js';

/** A fixture's events as the client's fetchHistory() gives them (64-bit timestamps as Longs). */
function fixtureEvents(name: string) {
  const json = JSON.parse(readFileSync(new URL(`../fixtures/${name}.history.json`, import.meta.url), 'utf8'));
  const { History } = temporal.api.history.v1;
  return History.decode(History.encode(historyFromJSON(json)).finish()).events;
}

describe('the run timeline, from committed histories', () => {
  it.each([
    ['order-paid', 'Parse Order as an activity task'],
    ['order-paid-local-parse', 'Parse Order as a local activity'],
  ])('reads %s (%s) as the same four steps', async (name) => {
    const timeline = await buildTimeline(fixtureEvents(name), [], async (failure) => failure.message ?? undefined);
    expect(timeline.map(({ name: step, state, attempts }) => ({ step, state, attempts }))).toEqual([
      { step: 'Parse Order', state: 'completed', attempts: 1 },
      { step: 'Charge Card', state: 'completed', attempts: 1 },
      { step: 'Send Receipt', state: 'completed', attempts: 1 },
      { step: 'Update Order Status', state: 'completed', attempts: 1 },
    ]);
    for (const step of timeline) {
      expect(Date.parse(step.endTime!), step.name).toBeGreaterThanOrEqual(Date.parse(step.startTime!));
    }
  });
});

describe('the run timeline of a PaymentIntent run that waited for Stripe', () => {
  it("reads order-paid-after-waiting-payment-intents as Charge Card's requests, the wait and the records, in order", async () => {
    const described: string[] = [];
    const timeline = await buildTimeline(fixtureEvents('order-paid-after-waiting-payment-intents'), [], async (failure) => {
      described.push(failure.applicationFailureInfo?.type ?? '');
      return 'the described failure';
    });
    expect(timeline.map(({ name: step, state }) => `${step}: ${state}`)).toEqual([
      'Parse Order: completed',
      'Charge Card: create PaymentIntent: completed',
      'Charge Card: confirm PaymentIntent: failed',
      'Charge Card: ask Stripe: failed',
      'Charge Card: read payment settings: completed',
      'Update Order Status: completed',
      'Notify Ops: completed',
      'Charge Card: ask Stripe: completed',
      'Notify Ops: completed',
      'Send Receipt: completed',
      'Update Order Status: completed',
    ]);
    // The confirmation ended on the 500 Stripe replays for its key; the question after it went unanswered.
    expect(timeline[2]).toMatchObject({ attempts: 2, lastFailure: 'the described failure' });
    expect(described).toContain('ChargeOutcomeUnknown');
    expect(described.at(-1)).toBe('StripeUnavailable');
  });
});

describe('the run timeline of an invalid order', () => {
  it('reads order-invalid-local-parse as one failed Parse Order step, with its failure described', async () => {
    const described: string[] = [];
    const timeline = await buildTimeline(fixtureEvents('order-invalid-local-parse'), [], async (failure) => {
      described.push(failure.applicationFailureInfo?.type ?? '');
      return 'the described failure';
    });
    expect(timeline).toEqual([
      expect.objectContaining({
        name: 'Parse Order',
        activityType: 'parseOrder',
        state: 'failed',
        attempts: 1,
        lastFailure: 'the described failure',
      }),
    ]);
    expect(described).toEqual(['InvalidOrder']);
  });
});
