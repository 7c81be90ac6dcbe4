/** What a Stripe list pages by: the object's ID (the cursor) and its `created` (seconds). */
export interface Listed {
  id: string;
  created: number;
}

/** A list's `created` filter: the oldest second it asks for, and whether a `created` is in it. */
export interface CreatedRange {
  since: number;
  includes: (created: number) => boolean;
}

/**
 * The objects of one Stripe list, oldest first, with the position of each ID: a page is read from its
 * cursor towards older objects and stops at the oldest `created` asked for, so a day of a busy merchant
 * (100,000 objects) is paged without scanning the whole list per request. Objects are added in the order
 * they were created, on a clock that only moves forward, so `created` never decreases along the list.
 */
export class ListIndex<T> {
  private readonly items: T[] = [];
  private readonly positions = new Map<string, number>();

  constructor(private readonly listed: (item: T) => Listed) {}

  push(item: T): void {
    this.positions.set(this.listed(item).id, this.items.length);
    this.items.push(item);
  }

  get(id: string): T | undefined {
    const position = this.positions.get(id);
    return position === undefined ? undefined : this.items[position];
  }

  has(id: string): boolean {
    return this.positions.has(id);
  }

  /** Every object, oldest first. */
  values(): readonly T[] {
    return this.items;
  }

  /**
   * Up to `limit` objects in the `created` range that `matches` keeps, newest first, from just before
   * the cursor `after` (or the newest), and whether more follow.
   */
  page(options: { after: string | undefined; limit: number; created: CreatedRange; matches: (item: T) => boolean }): {
    items: T[];
    hasMore: boolean;
  } {
    const { after, limit, created, matches } = options;
    const found: T[] = [];
    const start = after === undefined ? this.items.length - 1 : (this.positions.get(after) ?? 0) - 1;
    for (let position = start; position >= 0 && found.length <= limit; position -= 1) {
      const item = this.items[position];
      const itemCreated = this.listed(item).created;
      if (itemCreated < created.since) break;
      if (created.includes(itemCreated) && matches(item)) found.push(item);
    }
    return { items: found.slice(0, limit), hasMore: found.length > limit };
  }
}
