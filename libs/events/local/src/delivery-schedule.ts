/** What {@link DeliverySchedule} keeps on an entry. */
export interface Schedulable {
  /** Arrival order in its queue: visible entries are handed out lowest first (oldest first). */
  readonly order: number;
  /** The schedule's: the ticket of the entry's one current heap node, 0 while it is not scheduled. */
  ticket: number;
}

interface HeapNode<E> {
  /** Epoch ms from which the entry is visible. */
  at: number;
  ticket: number;
  entry: E;
}

/**
 * When each entry of a queue is next deliverable, so that a receive takes the oldest visible entries
 * without looking at the ones in flight: a heap of entries by visibility time, and a heap of those
 * already visible by arrival order. Rescheduling an entry issues it a new ticket; its old node stays
 * in a heap and is skipped when it surfaces (lazy deletion), and both heaps are rebuilt once stale
 * nodes outnumber live ones. Receive is O(k log n) for k entries taken, not O(in flight).
 */
export class DeliverySchedule<E extends Schedulable> {
  private readonly waiting = new MinHeap<HeapNode<E>>((a, b) => a.at - b.at || a.entry.order - b.entry.order);
  private readonly visible = new MinHeap<HeapNode<E>>((a, b) => a.entry.order - b.entry.order);
  private tickets = 0;
  private scheduled = 0;

  /** Makes `entry` deliverable from `visibleAt` (epoch ms; 0 or past: now), replacing its previous time. */
  schedule(entry: E, visibleAt: number): void {
    if (entry.ticket === 0) this.scheduled++;
    entry.ticket = ++this.tickets;
    this.waiting.push({ at: visibleAt, ticket: entry.ticket, entry });
    if (this.waiting.size + this.visible.size > 2 * this.scheduled + 1024) {
      const live = (n: HeapNode<E>) => n.ticket === n.entry.ticket;
      this.waiting.retain(live);
      this.visible.retain(live);
    }
  }

  /** Takes `entry` out (it is leaving its queue); {@link schedule} puts it back. */
  unschedule(entry: E): void {
    if (entry.ticket === 0) return;
    entry.ticket = 0;
    this.scheduled--;
  }

  /** Takes out and returns the oldest entry that is visible at `now`; undefined if none is. */
  next(now: number): E | undefined {
    for (let top = this.waiting.peek(); top !== undefined && top.at <= now; top = this.waiting.peek()) {
      this.waiting.pop();
      if (top.ticket === top.entry.ticket) this.visible.push(top);
    }
    for (let node = this.visible.pop(); node !== undefined; node = this.visible.pop()) {
      if (node.ticket !== node.entry.ticket) continue;
      this.unschedule(node.entry);
      return node.entry;
    }
    return undefined;
  }

  /** The earliest time an entry becomes visible (in the past if one is visible now; Infinity: none is scheduled). */
  nextVisibleAt(): number {
    for (const heap of [this.visible, this.waiting]) {
      for (let top = heap.peek(); top !== undefined; top = heap.peek()) {
        if (top.ticket === top.entry.ticket) return heap === this.visible ? 0 : top.at;
        heap.pop();
      }
    }
    return Infinity;
  }
}

/** A binary min-heap under `before` (negative: a comes first). */
class MinHeap<T> {
  private items: T[] = [];

  constructor(private readonly before: (a: T, b: T) => number) {}

  get size(): number {
    return this.items.length;
  }

  peek(): T | undefined {
    return this.items[0];
  }

  push(item: T): void {
    this.items.push(item);
    this.up(this.items.length - 1);
  }

  pop(): T | undefined {
    const top = this.items[0];
    const last = this.items.pop();
    if (this.items.length > 0 && last !== undefined) {
      this.items[0] = last;
      this.down(0);
    }
    return top;
  }

  /** Drops the items `keep` rejects and restores the heap order (O(n)). */
  retain(keep: (item: T) => boolean): void {
    this.items = this.items.filter(keep);
    for (let i = (this.items.length >> 1) - 1; i >= 0; i--) this.down(i);
  }

  private up(i: number): void {
    const { items } = this;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (this.before(items[i], items[parent]) >= 0) return;
      [items[i], items[parent]] = [items[parent], items[i]];
      i = parent;
    }
  }

  private down(i: number): void {
    const { items } = this;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let first = i;
      if (left < items.length && this.before(items[left], items[first]) < 0) first = left;
      if (right < items.length && this.before(items[right], items[first]) < 0) first = right;
      if (first === i) return;
      [items[i], items[first]] = [items[first], items[i]];
      i = first;
    }
  }
}
