/** A bounded memory of recently seen IDs: once it holds `capacity`, the oldest is forgotten first. */
export class RecentIds {
  /** A Set iterates in insertion order, so its first entry is the oldest. */
  private readonly ids = new Set<string>();

  constructor(private readonly capacity: number) {}

  /** Remembers `id`; false when it was remembered already. */
  add(id: string): boolean {
    if (this.ids.has(id)) return false;
    this.ids.add(id);
    if (this.ids.size > this.capacity) this.ids.delete(this.ids.values().next().value!);
    return true;
  }

  forget(id: string): void {
    this.ids.delete(id);
  }
}
