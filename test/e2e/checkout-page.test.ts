import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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

/** An API on a real port in front of `harness`'s Temporal server, with its Stripe webhooks and client secrets (as in checkout-answer). */
async function apiFor(harness: Harness): Promise<{ app: FastifyInstance; baseUrl: string }> {
  const stripeUrl = new URL(harness.sandbox.env.STRIPE_API_URL);
  const app = buildApp({
    client: harness.client,
    taskQueue: harness.temporal.taskQueue,
    triggerApiKeys: [API_KEY],
    stripeWebhookSecret: WEBHOOK_SECRET,
    stripe: new Stripe(harness.sandbox.env.STRIPE_SECRET_KEY, { protocol: 'http', host: stripeUrl.hostname, port: stripeUrl.port }),
  });
  const baseUrl = await app.listen({ port: 0, host: '127.0.0.1' });
  harness.sandbox.stripe.sendWebhooksTo(`${baseUrl}/webhooks/stripe`, WEBHOOK_SECRET);
  return { app, baseUrl };
}

describe('the sandbox checkout page, in headless Chromium', () => {
  let harness: Harness;
  let app: FastifyInstance;
  let checkout: CheckoutPage;
  let browser: Browser;
  beforeAll(async () => {
    // The browser first: without one the file fails at once, saying how to get it.
    browser = await launchChromium();
    harness = await startHarness();
    const { app: api, baseUrl } = await apiFor(harness);
    app = api;
    checkout = await startCheckoutPage({ apiUrl: baseUrl, apiKey: API_KEY, stripeUrl: harness.sandbox.env.STRIPE_API_URL });
  });
  afterAll(async () => {
    await browser?.close();
    await checkout?.close();
    await app?.close();
    await harness?.close();
  });

  /** Opens the page, chooses the customer (and amount), pays; resolves once the answer area shows `status`. */
  async function pay(customerId: string, status: string, amount?: string) {
    const page = await browser.newPage();
    const errors: string[] = [];
    const foreign: string[] = [];
    page.on('pageerror', (error) => errors.push(String(error)));
    page.on('request', (request) => {
      if (!request.url().startsWith(checkout.url)) foreign.push(request.url());
    });
    await page.goto(checkout.url);
    await page.select('#customer', customerId);
    if (amount !== undefined) await page.locator('#amount').fill(amount);
    await page.click('#pay');
    const answer = await page.waitForSelector(`#answer[data-status="${status}"]`, { timeout: 30_000 });
    const text = await answer!.evaluate((element) => element.textContent ?? '');
    const orderId = await answer!.evaluate((element) => element.getAttribute('data-order') ?? '');
    return { page, text, orderId, errors, foreign };
  }

  const answerText = (page: Page) => page.$eval('#answer', (element) => element.textContent ?? '');

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
    const link = await page.$eval('#confirm', (anchor) => ({ href: anchor.getAttribute('href'), text: anchor.textContent }));
    expect(link).toEqual({ href: `${harness.sandbox.env.STRIPE_API_URL}/sandbox/pay/${orderId}`, text: 'Confirm with your bank' });
    // The trigger asked for an on-session confirmation returning to the checkout page.
    const confirmation = harness.sandbox.stripe.requests.find(
      (request) => request.path.endsWith(`/payment_intents/${intent.id}/confirm`) && request.body.includes('return_url'),
    );
    expect(new URLSearchParams(confirmation!.body).get('return_url')).toBe(`${checkout.url}/?order=${orderId}`);

    const bankPage = new Promise<Page | null>((resolve) => page.once('popup', resolve));
    await page.click('#confirm');
    const bank = (await bankPage)!;
    const bankText = () => bank.$eval('body', (body) => body.textContent ?? '');
    await expect.poll(bankText, { timeout: 10_000 }).toContain(`Payment ${intent.id} of order ${orderId} confirmed.`);
    await bank.close();

    await page.waitForSelector('#answer[data-status="paid"]', { timeout: 30_000 });
    expect(await answerText(page)).toContain('Paid');
    expect(harness.sandbox.stripe.successfulCharges(orderId)).toHaveLength(1);
    expect(harness.sandbox.stripe.paymentIntentsFor(orderId)).toHaveLength(1);
    expect(errors).toEqual([]);
    if (process.env.UPDATE_SCREENSHOT === '1') {
      await page.setViewport({ width: 520, height: 420 });
      await page.screenshot({ path: SCREENSHOT });
    }
    await page.close();
  });
});
