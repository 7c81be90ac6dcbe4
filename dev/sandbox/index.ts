import { StripeStandIn } from './stripe.js';
import { ResendStandIn } from './resend.js';
import { ALERT_CHANNEL, SlackStandIn } from './slack.js';
import { OrderBackendStandIn } from './order-backend.js';

/** Keys the stand-ins accept: test-mode shapes, never real credentials. */
const SANDBOX_CREDENTIALS = {
  STRIPE_SECRET_KEY: 'sk_test_sandbox',
  RESEND_API_KEY: 're_sandbox',
  SLACK_BOT_TOKEN: 'xoxb-sandbox',
} as const;

export interface Sandbox {
  stripe: StripeStandIn;
  resend: ResendStandIn;
  slack: SlackStandIn;
  backend: OrderBackendStandIn;
  /** The worker's provider variables pointing at the stand-ins. */
  env: Record<string, string>;
  close(): Promise<void>;
}

/** Starts the four provider stand-ins on free loopback ports. */
export async function startSandbox(): Promise<Sandbox> {
  const stripe = new StripeStandIn();
  const resend = new ResendStandIn();
  const slack = new SlackStandIn();
  const backend = new OrderBackendStandIn();
  const [stripeUrl, resendUrl, slackUrl, backendUrl] = await Promise.all([
    stripe.listen(),
    resend.listen(),
    slack.listen(),
    backend.listen(),
  ]);
  return {
    stripe,
    resend,
    slack,
    backend,
    env: {
      ...SANDBOX_CREDENTIALS,
      STRIPE_API_URL: stripeUrl,
      // The stand-in's page where the card holder authenticates (SCA), in place of the merchant's.
      PAYMENT_ACTION_URL: `${stripeUrl}/sandbox/pay/{orderId}`,
      RESEND_BASE_URL: resendUrl,
      RECEIPT_FROM: 'Sandbox Shop <orders@shop.example.com>',
      SLACK_API_URL: `${slackUrl}/api/`,
      SLACK_CHANNEL: ALERT_CHANNEL,
      API_BASE_URL: backendUrl,
    },
    close: async () => {
      await Promise.all([stripe.close(), resend.close(), slack.close(), backend.close()]);
    },
  };
}
