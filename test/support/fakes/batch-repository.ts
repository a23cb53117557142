import type { BatchRepository } from '../../../src/lib/app/ports/batch-repository.ts';
import type { BatchBlock, LineStatus } from '../../../src/lib/domain/batch-blocks.ts';
import type { BatchHeader } from '../../../src/lib/domain/batches.ts';

/*
 * The BatchRepository port in memory, with the DynamoDB adapter's conditions
 * (src/lib/adapters/batch-store.ts) as plain checks; held to
 * test/contract/batch-repository.contract.ts against dynalite. An update of a missing item
 * creates it, as UpdateItem does, except where the adapter's condition says otherwise.
 */

interface Counter {
  expected?: number;
  expiresAt?: number;
  sets: Record<LineStatus, Set<number>>;
  reasons: Record<string, string>;
}

type Header = Omit<BatchHeader, 'doneBlocks'> & { doneBlocks?: Set<number> };

const sorted = (set: Set<number> | undefined) => [...(set ?? [])].sort((a, b) => a - b);

export class FakeBatchRepository implements BatchRepository {
  readonly headers = new Map<string, Header>();
  readonly counters = new Map<string, Counter>();
  /** The ids item of a block, with its own TTL attribute as openBlock's PutItem writes it. */
  readonly lineIds = new Map<string, { ids: Record<string, string>; expiresAt: number }>();

  private counter(batchId: string, block: number): Counter {
    const key = `${batchId}#${block}`;
    let c = this.counters.get(key);
    if (!c) {
      c = {
        sets: {
          submitted: new Set(),
          completed: new Set(),
          failed: new Set(),
          cancelled: new Set(),
          expired: new Set(),
          refused: new Set(),
        },
        reasons: {},
      };
      this.counters.set(key, c);
    }
    return c;
  }

  private view(batchId: string, block: number): BatchBlock {
    const c = this.counters.get(`${batchId}#${block}`);
    return {
      expected: c?.expected ?? Number.POSITIVE_INFINITY,
      submitted: sorted(c?.sets.submitted),
      completed: sorted(c?.sets.completed),
      failed: sorted(c?.sets.failed),
      cancelled: sorted(c?.sets.cancelled),
      expired: sorted(c?.sets.expired),
      refused: sorted(c?.sets.refused),
      reasons: { ...c?.reasons },
    };
  }

  private headerOf(batchId: string): BatchHeader | undefined {
    const h = this.headers.get(batchId);
    if (!h) return undefined;
    return {
      ...structuredClone({ ...h, doneBlocks: undefined }),
      doneBlocks: sorted(h.doneBlocks),
    };
  }

  /**
   * UpdateItem on the header: creates an item of only what it sets when there is none. Not even
   * batchId: the adapter's item then holds its key and the update's attributes alone.
   */
  private upsert(batchId: string): Header {
    let h = this.headers.get(batchId);
    if (!h) {
      h = {} as Header;
      this.headers.set(batchId, h);
    }
    return h;
  }

  async create(header: BatchHeader): Promise<void> {
    if (this.headers.has(header.batchId)) {
      throw Object.assign(new Error('The conditional request failed'), {
        name: 'ConditionalCheckFailedException',
      });
    }
    const { doneBlocks, ...rest } = structuredClone(header);
    this.headers.set(header.batchId, {
      ...Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined)),
      ...(doneBlocks?.length ? { doneBlocks: new Set(doneBlocks) } : {}),
    } as Header);
  }

  async header(batchId: string): Promise<BatchHeader | undefined> {
    return this.headerOf(batchId);
  }

  async openBlock(
    batchId: string,
    block: number,
    expected: number,
    ids: Record<string, string>,
    expiresAt: number,
  ): Promise<void> {
    if (Object.keys(ids).length > 0) {
      this.lineIds.set(`${batchId}#${block}`, { ids: { ...ids }, expiresAt });
    }
    const c = this.counter(batchId, block);
    c.expected = expected;
    c.expiresAt = expiresAt;
  }

  async ids(batchId: string, block: number): Promise<Record<string, string>> {
    return { ...this.lineIds.get(`${batchId}#${block}`)?.ids };
  }

  async addLine(
    batchId: string,
    block: number,
    line: number,
    status: LineStatus,
    reason?: string,
  ): Promise<BatchBlock> {
    const c = this.counter(batchId, block);
    c.sets[status].add(line);
    if (reason !== undefined) c.reasons[String(line)] = reason.slice(0, 300);
    return this.view(batchId, block);
  }

  async blocks(batchId: string, count: number): Promise<BatchBlock[]> {
    return Array.from({ length: count }, (_, i) => this.view(batchId, i));
  }

  async block(batchId: string, block: number): Promise<BatchBlock> {
    return this.view(batchId, block);
  }

  async advance(batchId: string, next: number): Promise<boolean> {
    const h = this.headers.get(batchId);
    if (!h || (h.cursor !== undefined && h.cursor >= next)) return false;
    h.cursor = next;
    return true;
  }

  async markExpanded(batchId: string, total: number, blocks: number, at: string): Promise<void> {
    const h = this.upsert(batchId);
    h.total = total;
    h.blocks = blocks;
    h.expandedAt ??= at;
  }

  async markBlockDone(batchId: string, block: number): Promise<BatchHeader | undefined> {
    const h = this.headers.get(batchId);
    if (!h) return undefined;
    (h.doneBlocks ??= new Set()).add(block);
    return this.headerOf(batchId);
  }

  async finish(batchId: string, blocks: number, at: string): Promise<boolean> {
    const h = this.headers.get(batchId);
    // size() of a missing set is no number: the condition fails, as DynamoDB's does.
    if (!h || h.finishedAt || h.blocks !== blocks || h.doneBlocks?.size !== blocks) {
      return false;
    }
    h.finishedAt = at;
    return true;
  }

  async setManifest(batchId: string, uri: string): Promise<void> {
    this.upsert(batchId).manifestLocation = uri;
  }

  async markAnnounced(batchId: string, at: string): Promise<void> {
    this.upsert(batchId).announcedAt = at;
  }

  async markCancelled(batchId: string, at: string): Promise<BatchHeader | undefined> {
    const h = this.headers.get(batchId);
    if (!h) return undefined;
    h.cancelledAt ??= at;
    return this.headerOf(batchId);
  }
}
