import type { OrderProgress, OrderRecordStatus } from '../domain/order.js';

/**
 * The `status` query's answer, replaced at step boundaries and never changed in place, so each answer is a snapshot. Status
 * changes also go to `onStatus`, for the run's OrderOutcome search attribute.
 */
export class OrderProgressState {
  #current: Readonly<OrderProgress> = Object.freeze({ step: 'parse-order' });

  constructor(private readonly onStatus: (status: OrderRecordStatus) => void) {}

  get snapshot(): Readonly<OrderProgress> {
    return this.#current;
  }

  /** Sets the fields given; a field given as undefined is removed, so the answer never carries it. */
  update(change: Partial<OrderProgress>): void {
    const previousStatus = this.#current.status;
    const next: Partial<OrderProgress> = { ...this.#current, ...change };
    for (const key of Object.keys(next) as (keyof OrderProgress)[]) if (next[key] === undefined) delete next[key];
    this.#current = Object.freeze(next as OrderProgress);
    if (this.#current.status && this.#current.status !== previousStatus) this.onStatus(this.#current.status);
  }
}
