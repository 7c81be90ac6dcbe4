/**
 * The sandbox checkout page of `npm start` (local tooling, never shipped, never imported by src/): one
 * HTML page where you choose a sandbox customer, pay, and see the API's answer as a checkout would
 * (docs/local-stack.md). Its server, on loopback only, holds the API key: the page talks to it alone
 * (same origin), and it calls the API.
 *
 *   GET  /                       the page (inline script and style, nothing else loaded)
 *   POST /pay                    { customerId, amount } -> the trigger with Prefer: wait=30 (triggerWaitSeconds), on session,
 *                                 for a new order ID; answers { orderId, workflowId, payment, confirmUrl? }
 *   GET  /payment/<workflowId>[?after=requires_action]
 *                                the long poll GET /api/runs/<workflowId>/payment with Prefer: wait=25
 *
 * For `requires_action` the answer carries `confirmUrl`, the Stripe stand-in's bank page for the order:
 * in the sandbox it takes the place of Stripe.js's `handleNextAction({ clientSecret })`.
 */
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { TRIGGER_PATH } from '../src/api/app.js';
import { orderIdOfWorkflowId } from '../src/workflows/names.js';

export const DEFAULT_CHECKOUT_PORT = 3001;

/** The sandbox customers the page offers (docs/sandbox.md has them all). */
export const CHECKOUT_CUSTOMERS = [
  { id: 'cus_abc', label: 'Pays' },
  { id: 'cus_decline', label: 'Declines' },
  { id: 'cus_authenticate', label: 'Needs the bank' },
] as const;

export interface CheckoutPageOptions {
  /** The API's base URL, e.g. http://localhost:3000. */
  apiUrl: string;
  apiKey: string;
  /** The Stripe stand-in's base URL (its bank page is `<stripeUrl>/sandbox/pay/<orderId>`). */
  stripeUrl: string;
  /** 0 (the default) for any free port. */
  port?: number;
  /** How long the trigger waits for the payment (Prefer: wait) before the page follows it with the long poll; 30 by default. */
  triggerWaitSeconds?: number;
}

export interface CheckoutPage {
  url: string;
  close(): Promise<void>;
}

const POLL_WAIT_SECONDS = 25;
const MAX_BODY_BYTES = 10_000;

/** Starts the page's server on 127.0.0.1. */
export async function startCheckoutPage({
  apiUrl,
  apiKey,
  stripeUrl,
  port = 0,
  triggerWaitSeconds = 30,
}: CheckoutPageOptions): Promise<CheckoutPage> {
  let url = '';
  const api = (path: string, init: RequestInit, waitSeconds: number) =>
    fetch(`${apiUrl}${path}`, {
      ...init,
      headers: { ...init.headers, authorization: `Bearer ${apiKey}`, prefer: `wait=${waitSeconds}` },
      signal: AbortSignal.timeout((waitSeconds + 10) * 1000),
    });
  /** The stand-in's bank page, when the customer must confirm with their bank. */
  const confirmUrlFor = (orderId: string, payment: { status: string } | undefined) =>
    payment?.status === 'requires_action' ? `${stripeUrl}/sandbox/pay/${orderId}` : undefined;

  const pay = async (request: IncomingMessage, response: ServerResponse) => {
    // JSON only: a form of another site cannot post here without the browser asking first (CORS).
    if (!request.headers['content-type']?.startsWith('application/json')) return send(response, 415, { error: 'JSON only' });
    let fields: { customerId?: unknown; amount?: unknown };
    try {
      fields = JSON.parse(await readBody(request)) as typeof fields;
    } catch {
      return send(response, 400, { error: 'Not JSON' });
    }
    const { customerId, amount } = fields;
    if (!CHECKOUT_CUSTOMERS.some((customer) => customer.id === customerId)) return send(response, 400, { error: 'Unknown customer' });
    const orderId = `ord_checkout_${Date.now()}_${randomUUID().slice(0, 4)}`;
    const answer = await api(
      TRIGGER_PATH,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          params: {
            orderId,
            customerId,
            amount,
            currency: 'usd',
            email: 'customer@example.com',
            onSession: true,
            returnUrl: `${url}/?order=${orderId}`,
          },
        }),
      },
      triggerWaitSeconds,
    );
    const body = (await answer.json()) as { workflowId?: string; payment?: { status: string } };
    const confirmUrl = confirmUrlFor(orderId, body.payment);
    send(response, answer.status, { orderId, ...body, ...(confirmUrl && { confirmUrl }) });
  };

  // `after`: the answer the page shows, passed on as the API takes it (it refuses any other value).
  const poll = async (workflowId: string, after: string | null, response: ServerResponse) => {
    const query = after === null ? '' : `?after=${encodeURIComponent(after)}`;
    const answer = await api(`/api/runs/${encodeURIComponent(workflowId)}/payment${query}`, {}, POLL_WAIT_SECONDS);
    const body = (await answer.json()) as { payment?: { status: string } };
    const confirmUrl = confirmUrlFor(orderIdOfWorkflowId(workflowId) ?? '', body.payment);
    const retryAfter = answer.headers.get('retry-after');
    send(response, answer.status, { ...body, ...(confirmUrl && { confirmUrl }) }, retryAfter ? { 'retry-after': retryAfter } : {});
  };

  const server = createServer((request, response) => {
    // Loopback names only: a page of another site that resolves its own name to 127.0.0.1 is refused.
    if (!/^(localhost|127\.0\.0\.1):\d+$/.test(request.headers.host ?? '')) return send(response, 421, { error: 'Unknown host' });
    const { pathname: path, searchParams } = new URL(request.url ?? '/', 'http://localhost');
    const polled = /^\/payment\/([^/]+)$/.exec(path);
    const handled =
      request.method === 'GET' && path === '/'
        ? Promise.resolve(sendPage(response))
        : request.method === 'POST' && path === '/pay'
          ? pay(request, response)
          : request.method === 'GET' && polled
            ? poll(decodeURIComponent(polled[1]), searchParams.get('after'), response)
            : Promise.resolve(send(response, 404, { error: 'Not found' }));
    handled.catch((error: unknown) => {
      if (!response.headersSent) send(response, 502, { error: `The API did not answer: ${(error as Error).message}` });
    });
  });
  server.listen(port, '127.0.0.1');
  await once(server, 'listening');
  url = `http://localhost:${(server.address() as AddressInfo).port}`;
  return {
    url,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

async function readBody(request: IncomingMessage): Promise<string> {
  let body = '';
  for await (const chunk of request) {
    body += String(chunk);
    if (body.length > MAX_BODY_BYTES) throw new Error('Body too large');
  }
  return body;
}

function send(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  response.writeHead(status, { ...headers, 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  response.end(JSON.stringify(body));
}

function sendPage(response: ServerResponse): void {
  response.writeHead(200, {
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
    'content-security-policy': "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'",
  });
  response.end(PAGE);
}

const options = CHECKOUT_CUSTOMERS.map(({ id, label }) => `<option value="${id}">${label} (${id})</option>`).join('');

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Sandbox checkout</title>
<style>
  body { font: 16px/1.4 system-ui, sans-serif; max-width: 26rem; margin: 2rem auto; padding: 0 1rem; color: #1a1a2e; }
  h1 { font-size: 1.3rem; }
  label { display: block; margin: .8rem 0 .2rem; }
  select, input, button { font: inherit; padding: .4rem; width: 100%; box-sizing: border-box; }
  button { margin-top: 1rem; background: #635bff; color: #fff; border: 0; border-radius: 4px; cursor: pointer; }
  button:disabled { opacity: .6; }
  #answer { display: block; margin-top: 1.2rem; padding: .8rem; border-radius: 4px; background: #f2f2f7; min-height: 1.4em; }
  #answer[data-status=paid] { background: #dff5e1; }
  #answer[data-status=payment_failed], #answer[data-status=error] { background: #fde2e2; }
  #answer[data-status=requires_action] { background: #fff4d6; }
  #answer a { display: inline-block; margin-top: .5rem; font-weight: 600; }
  small { color: #666; }
</style>
</head>
<body>
<h1>Sandbox checkout</h1>
<form id="checkout">
  <label for="customer">Sandbox customer</label>
  <select id="customer">${options}</select>
  <label for="amount">Amount (USD)</label>
  <input id="amount" type="number" min="0.01" step="0.01" value="49.99" required>
  <button id="pay" type="submit">Pay</button>
</form>
<output id="answer" aria-live="polite"></output>
<p><small>Each Pay is a new order, sent on session with Prefer: wait.</small></p>
<script>
  const form = document.getElementById('checkout');
  const button = document.getElementById('pay');
  const answer = document.getElementById('answer');

  function show(status, text, orderId) {
    answer.dataset.status = status;
    answer.dataset.order = orderId || '';
    answer.textContent = text + (orderId ? ' (order ' + orderId + ')' : '');
  }

  function describe(payment) {
    switch (payment.status) {
      case 'paid': return 'Paid';
      case 'payment_failed': return payment.declineCode ? 'Declined: ' + payment.declineCode : 'Payment failed: ' + (payment.reason || 'unknown');
      case 'requires_action': return 'Your bank asks you to confirm this payment.';
      default: return 'Pending: ' + (payment.reason || 'Stripe has not decided yet');
    }
  }

  // For the bank step, a link to confirm: in the sandbox the stand-in's bank page takes the place of Stripe.js
  // (handleNextAction with body.payment.clientSecret).
  function render(body, orderId) {
    show(body.payment.status, describe(body.payment), orderId);
    if (body.payment.status !== 'requires_action') return;
    const link = document.createElement('a');
    link.id = 'confirm';
    link.href = body.confirmUrl;
    link.target = '_blank';
    link.textContent = 'Confirm with your bank';
    answer.append(document.createElement('br'), link);
  }

  // Until the payment is decided, each long poll answers what this page has not shown (after the bank step, what
  // follows it); a 202 means nothing new yet: ask again after Retry-After.
  async function follow(orderId, workflowId, shown) {
    for (;;) {
      const after = shown === 'requires_action' ? '?after=requires_action' : '';
      const response = await fetch('/payment/' + encodeURIComponent(workflowId) + after);
      const body = await response.json();
      if (!response.ok) return show('error', 'Error: ' + (body.error && (body.error.message || body.error)), orderId);
      if (response.status === 202) {
        await new Promise((resolve) => setTimeout(resolve, Number(response.headers.get('retry-after') || 1) * 1000));
        continue;
      }
      render(body, orderId);
      shown = body.payment.status;
      if (shown === 'paid' || shown === 'payment_failed') return;
    }
  }

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    button.disabled = true;
    show('waiting', 'Paying...');
    try {
      const response = await fetch('/pay', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          customerId: document.getElementById('customer').value,
          amount: Math.round(Number(document.getElementById('amount').value) * 100),
        }),
      });
      const body = await response.json();
      if (!response.ok || !body.payment) {
        return show('error', 'Error: ' + (body.error && (body.error.message || body.error)), body.orderId);
      }
      render(body, body.orderId);
      if (body.payment.status === 'requires_action' || body.payment.status === 'payment_pending') {
        await follow(body.orderId, body.workflowId, body.payment.status);
      }
    } catch (error) {
      show('error', 'Error: ' + error.message);
    } finally {
      button.disabled = false;
    }
  });
</script>
</body>
</html>
`;
