import type Stripe from 'stripe';
import type { Client } from '@temporalio/client';
import type { CursorCodec } from './cursor.js';
import type { MissingSearchAttributes } from './search-attribute-check.js';

/** What the routes share: the process's one Temporal client and the service's settings. */
export interface ApiContext {
  client: Client;
  taskQueue: string;
  /** Base URL of the Temporal Web UI, for links to runs. */
  webUiUrl: string;
  /** Signs and checks the run list's page cursors. */
  cursors: CursorCodec;
  /** The search attributes the service writes that the namespace lacks (once all are found, that is remembered). */
  findMissingSearchAttributes: () => Promise<MissingSearchAttributes | undefined>;
  /** Reads an on-session PaymentIntent's client secret for the checkout (never through the run). */
  stripe?: Stripe;
}
