import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import type { FastifyInstance } from 'fastify';
import type { Browser, Page } from 'puppeteer-core';
import Stripe from 'stripe';
import { buildApp } from '../../src/api/app.js';
import { CHECKOUT_CUSTOMERS, startCheckoutPage, type CheckoutPage } from '../../dev/checkout-page.js';
import { launchChromium } from '../support/chromium.js';
import { startHarness, type Harness } from '../support/harness.js';

const API_KEY = 'ask_checkout_page_key_0001';
const WEBHOOK_SECRET = 'whsec_checkout_page_test';
/** UPDATE_SCREENSHOT=1 writes the paid-after-the-bank answer here (committed, linked from the docs). */
const SCREENSHOT = fileURLToPath(new URL('../../docs/checkout-page.png', import.meta.url));

/**
 * An API on a real port in front of `harness`'s Temporal server, with its Stripe webhooks and client secrets (as in
 * checkout-answer); `requests` holds the method and URL of every request it received.
 */
async function apiFor(harness: Harness): Promise<{ app: FastifyInstance; baseUrl: string; requests: string[] }> {
  const stripeUrl = new URL(harness.sandbox.env.STRIPE_API_URL);
  const app = buildApp({
    client: harness.client,
    taskQueue: harness.temporal.taskQueue,
    triggerApiKeys: [API_KEY],
    stripeWebhookSecret: WEBHOOK_SECRET,
    stripe: new Stripe(harness.sandbox.env.STRIPE_SECRET_KEY, { protocol: 'http', host: stripeUrl.hostname, port: stripeUrl.port }),
  });
  const requests: string[] = [];
  app.addHook('onRequest', async (request) => {
    requests.push(`${request.method} ${request.url}`);
  });
  const baseUrl = await app.listen({ port: 0, host: '127.0.0.1' });
  harness.sandbox.stripe.sendWebhooksTo(`${baseUrl}/webhooks/stripe`, WEBHOOK_SECRET);
  return { app, baseUrl, requests };
}

describe('the sandbox checkout page, in headless Chromium', () => {
  let harness: Harness;
  let app: FastifyInstance;
  let apiUrl: string;
  let apiRequests: string[];
  let checkout: CheckoutPage;
  let browser: Browser;
  beforeAll(async () => {
    // The browser first: without one the file fails at once, saying how to get it.
    browser = await launchChromium();
    harness = await startHarness();
    ({ app, baseUrl: apiUrl, requests: apiRequests } = await apiFor(harness));
    checkout = await startCheckoutPage({ apiUrl, apiKey: API_KEY, stripeUrl: harness.sandbox.env.STRIPE_API_URL });
  });
  afterAll(async () => {
    await browser?.close();
    await checkout?.close();
    await app?.close();
    await harness?.close();
  });

  /** Opens the page (`at`), chooses the customer (and amount), pays; resolves once the answer area shows `status`. */
  async function pay(customerId: string, status: string, amount?: string, at: CheckoutPage = checkout) {
    const page = await browser.newPage();
    const errors: string[] = [];
    const foreign: string[] = [];
    page.on('pageerror', (error) => errors.push(String(error)));
    page.on('request', (request) => {
      if (!request.url().startsWith(at.url)) foreign.push(request.url());
    });
    await page.goto(at.url);
    await page.select('#customer', customerId);
    if (amount !== undefined) await page.locator('#amount').fill(amount);
    await page.click('#pay');
    const answer = await page.waitForSelector(`#answer[data-status="${status}"]`, { timeout: 30_000 });
    const text = await answer!.evaluate((element) => element.textContent ?? '');
    const orderId = await answer!.evaluate((element) => element.getAttribute('data-order') ?? '');
    return { page, text, orderId, errors, foreign };
  }

  const answerText = (page: Page) => page.$eval('#answer', (element) => element.textContent ?? '');

  /** Follows the page's link to the stand-in's bank page, which confirms; resolves once the page shows "Paid". */
  async function confirmWithTheBank(page: Page, paymentIntentId: string, orderId: string) {
    const link = await page.$eval('#confirm', (anchor) => ({ href: anchor.getAttribute('href'), text: anchor.textContent }));
    expect(link).toEqual({ href: `${harness.sandbox.env.STRIPE_API_URL}/sandbox/pay/${orderId}`, text: 'Confirm with your bank' });
    const bankPage = new Promise<Page | null>((resolve) => page.once('popup', resolve));
    await page.click('#confirm');
    const bank = (await bankPage)!;
    const bankText = () => bank.$eval('body', (body) => body.textContent ?? '');
    await expect.poll(bankText, { timeout: 10_000 }).toContain(`Payment ${paymentIntentId} of order ${orderId} confirmed.`);
    await bank.close();
    await page.waitForSelector('#answer[data-status="paid"]', { timeout: 30_000 });
  }

  it('offers the three sandbox customers', async () => {
    const page = await browser.newPage();
    await page.goto(checkout.url);
    const values = await page.$$eval('#customer option', (options) => options.map((option) => option.getAttribute('value')));
    expect(values).toEqual(CHECKOUT_CUSTOMERS.map((customer) => customer.id));
    await page.close();
  });

  it('pays: "Paid", one successful charge of the amount typed', async () => {
    const { page, text, orderId, errors, foreign } = await pay('cus_abc', 'paid', '12.34');
    expect(text).toContain('Paid');
    expect(orderId).toMatch(/^ord_checkout_/);
    const [intent] = harness.sandbox.stripe.paymentIntentsFor(orderId);
    expect(intent).toMatchObject({ status: 'succeeded', amount: 1234, currency: 'usd', customer: 'cus_abc' });
    expect(harness.sandbox.stripe.successfulCharges(orderId)).toHaveLength(1);
    expect(errors).toEqual([]);
    expect(foreign).toEqual([]); // the page loads nothing from elsewhere
    await page.close();
  });

  it('declines: shows the decline code, nothing charged', async () => {
    const { page, text, orderId, errors } = await pay('cus_decline', 'payment_failed');
    expect(text).toContain('Declined: generic_decline');
    expect(harness.sandbox.stripe.paymentIntentsFor(orderId)).toHaveLength(1);
    expect(harness.sandbox.stripe.successfulCharges(orderId)).toEqual([]);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('needs the bank: the link opens the stand-in\'s bank page, which confirms; then the checkout shows "Paid"', async () => {
    const { page, text, orderId, errors } = await pay('cus_authenticate', 'requires_action');
    expect(text).toContain('Your bank asks you to confirm this payment.');
    expect(harness.sandbox.stripe.successfulCharges(orderId)).toEqual([]);
    const [intent] = harness.sandbox.stripe.paymentIntentsFor(orderId);
    expect(intent.status).toBe('requires_action');
    // The trigger asked for an on-session confirmation returning to the checkout page.
    const confirmation = harness.sandbox.stripe.requests.find(
      (request) => request.path.endsWith(`/payment_intents/${intent.id}/confirm`) && request.body.includes('return_url'),
    );
    expect(new URLSearchParams(confirmation!.body).get('return_url')).toBe(`${checkout.url}/?order=${orderId}`);

    await confirmWithTheBank(page, intent.id, orderId);
    expect(await answerText(page)).toContain('Paid');
    expect(harness.sandbox.stripe.successfulCharges(orderId)).toHaveLength(1);
    expect(harness.sandbox.stripe.paymentIntentsFor(orderId)).toHaveLength(1);
    // The page then waited for what follows the bank step, once shown: no loop of polls answering requires_action again.
    expect(apiRequests).toContain(`GET /api/runs/order-${orderId}/payment?after=requires_action`);
    expect(apiRequests.filter((request) => request === `GET /api/runs/order-${orderId}/payment`)).toEqual([]);
    expect(errors).toEqual([]);
    if (process.env.UPDATE_SCREENSHOT === '1') {
      await page.setViewport({ width: 520, height: 420 });
      await page.screenshot({ path: SCREENSHOT });
    }
    await page.close();
  });

  it('needs the bank, and Stripe is slow: "Pending" when the trigger\'s wait runs out, then the bank step from the long poll, then "Paid"', async () => {
    const impatient = await startCheckoutPage({
      apiUrl,
      apiKey: API_KEY,
      stripeUrl: harness.sandbox.env.STRIPE_API_URL,
      triggerWaitSeconds: 1,
    });
    onTestFinished(() => impatient.close());
    // Charge Card cannot settle within the trigger's wait.
    harness.sandbox.stripe.latencyMs = 1_500;
    const paid = await pay('cus_authenticate', 'payment_pending', undefined, impatient).finally(
      () => (harness.sandbox.stripe.latencyMs = 0),
    );
    const { page, orderId, errors, foreign } = paid;
    expect(paid.text).toContain('Pending');
    await page.waitForSelector('#answer[data-status="requires_action"]', { timeout: 30_000 });
    expect(await answerText(page)).toContain('Your bank asks you to confirm this payment.');
    const [intent] = harness.sandbox.stripe.paymentIntentsFor(orderId);
    await confirmWithTheBank(page, intent.id, orderId);
    expect(harness.sandbox.stripe.successfulCharges(orderId)).toHaveLength(1);
    expect(errors).toEqual([]);
    expect(foreign).toEqual([]);
    await page.close();
  });
});
