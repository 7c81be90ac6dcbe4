import type { OrderProgress } from '../domain/order.js';

/**
 * What the `status` query answers: one plain value, replaced at step boundaries through `update` and
 * never changed in place, so each answer is a snapshot of the run at that moment.
 */
export class OrderProgressState {
  #current: Readonly<OrderProgress> = Object.freeze({ step: 'parse-order' });

  get snapshot(): Readonly<OrderProgress> {
    return this.#current;
  }

  /** Sets the fields given; a field given as undefined is removed, so the answer never carries it. */
  update(change: Partial<OrderProgress>): void {
    const next: Partial<OrderProgress> = { ...this.#current, ...change };
    for (const key of Object.keys(next) as (keyof OrderProgress)[]) if (next[key] === undefined) delete next[key];
    this.#current = Object.freeze(next as OrderProgress);
  }
}
