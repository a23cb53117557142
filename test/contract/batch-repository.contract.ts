import { describe, expect, it } from 'vitest';
import type { BatchRepository } from '../../src/lib/app/ports/batch-repository.ts';
import type { BatchHeader } from '../../src/lib/domain/batches.ts';
import { freshId, useRig } from './rig.ts';

/*
 * What every BatchRepository does, the fake (test/support/fakes/batch-repository.ts) and the
 * DynamoDB adapter against dynalite alike: the conditional writes that decide races (of two
 * racers exactly one wins), counting that a repeated line cannot inflate, missing keys, and the
 * TTL attribute of the block items. A fake that drifts from the adapter fails here.
 */

export interface BatchRepositoryRig {
  repo: BatchRepository;
  /** The TTL attribute (epoch seconds) of a block's counter item and of its ids item, as stored. */
  blockExpiresAt(batchId: string, block: number): Promise<number | undefined>;
  idsExpiresAt(batchId: string, block: number): Promise<number | undefined>;
  close(): Promise<void>;
}

const T = '2026-11-24T12:00:00.000Z';
const LATER = '2026-11-24T13:00:00.000Z';

const headerOf = (batchId: string, extra: Partial<BatchHeader> = {}): BatchHeader => ({
  batchId,
  createdAt: T,
  source: { kind: 'manifest', uri: 's3://in/batches/lines.jsonl' },
  callbackUrl: 'https://example.com/hook',
  endpoint: 'demo-endpoint',
  owner: 'team-a',
  expiresAt: 1_800_000_000,
  ...extra,
});

export function batchRepositoryContract(
  name: string,
  start: () => Promise<BatchRepositoryRig>,
): void {
  describe(`BatchRepository contract: ${name}`, () => {
    let rig: BatchRepositoryRig;
    let repo: BatchRepository;
    const id = freshId;
    useRig(start, (started) => {
      rig = started;
      repo = started.repo;
    });

    it('answers a missing batch as none: header, ids, blocks, markBlockDone, advance, finish', async () => {
      const missing = id('missing');
      expect(await repo.header(missing)).toBeUndefined();
      expect(await repo.ids(missing, 0)).toEqual({});
      const [block] = await repo.blocks(missing, 1);
      expect(block).toEqual({
        // Never opened: its size is unknown, so it can never count as done.
        expected: Number.POSITIVE_INFINITY,
        submitted: [],
        completed: [],
        failed: [],
        cancelled: [],
        expired: [],
        refused: [],
        reasons: {},
      });
      expect(await repo.blocks(missing, 0)).toEqual([]);
      expect(await repo.block(missing, 3)).toEqual(block);
      // Conditions on the header's existence: nothing is created for an expired batch.
      expect(await repo.markBlockDone(missing, 0)).toBeUndefined();
      expect(await repo.advance(missing, 1)).toBe(false);
      expect(await repo.finish(missing, 0, T)).toBe(false);
      expect(await repo.header(missing)).toBeUndefined();
    });

    it('creates a header once and reads it back as written', async () => {
      const header = headerOf(id('create'));
      await repo.create(header);
      expect(await repo.header(header.batchId)).toMatchObject({ ...header, doneBlocks: [] });
      await expect(repo.create({ ...header, owner: 'team-b' })).rejects.toMatchObject({
        name: 'ConditionalCheckFailedException',
      });
      expect((await repo.header(header.batchId))?.owner).toBe('team-a');
    });

    it('answers a header in domain fields only: never the table key it is stored under', async () => {
      const header = headerOf(id('fields'));
      await repo.create(header);
      expect(await repo.header(header.batchId)).toEqual({ ...header, doneBlocks: [] });
      expect(await repo.markBlockDone(header.batchId, 0)).toEqual({ ...header, doneBlocks: [0] });
    });

    it('of two creates of one id at once, exactly one succeeds', async () => {
      const batchId = id('create-race');
      const answers = await Promise.allSettled([
        repo.create(headerOf(batchId, { owner: 'a' })),
        repo.create(headerOf(batchId, { owner: 'b' })),
      ]);
      expect(answers.filter((a) => a.status === 'fulfilled')).toHaveLength(1);
      const lost = answers.find((a) => a.status === 'rejected') as PromiseRejectedResult;
      expect(lost.reason).toMatchObject({ name: 'ConditionalCheckFailedException' });
    });

    it('opens a block with its expected count, its ids and their TTL; a repeat changes nothing', async () => {
      const batchId = id('open');
      const ids = { '0': 'custom-a', '3': 'custom-b' };
      await repo.openBlock(batchId, 0, 5, ids, 1_900_000_000);
      await repo.openBlock(batchId, 0, 5, ids, 1_900_000_000);
      expect(await repo.ids(batchId, 0)).toEqual(ids);
      expect((await repo.blocks(batchId, 1))[0]?.expected).toBe(5);
      expect(await rig.blockExpiresAt(batchId, 0)).toBe(1_900_000_000);
      expect(await rig.idsExpiresAt(batchId, 0)).toBe(1_900_000_000);
      // No ids given: no ids item at all, the counter still expires.
      await repo.openBlock(batchId, 1, 2, {}, 1_900_000_001);
      expect(await repo.ids(batchId, 1)).toEqual({});
      expect(await rig.idsExpiresAt(batchId, 1)).toBeUndefined();
      expect(await rig.blockExpiresAt(batchId, 1)).toBe(1_900_000_001);
    });

    it('counts a line once per status under repeats and concurrent duplicates', async () => {
      const batchId = id('count');
      await repo.openBlock(batchId, 0, 4, {}, 1_900_000_000);
      await Promise.all([
        repo.addLine(batchId, 0, 2, 'submitted'),
        repo.addLine(batchId, 0, 2, 'submitted'),
        repo.addLine(batchId, 0, 0, 'submitted'),
      ]);
      const again = await repo.addLine(batchId, 0, 2, 'submitted');
      expect(again.submitted).toEqual([0, 2]);
      await repo.addLine(batchId, 0, 2, 'completed');
      await repo.addLine(batchId, 0, 2, 'completed');
      await repo.addLine(batchId, 0, 0, 'failed');
      const long = 'x'.repeat(400);
      await repo.addLine(batchId, 0, 1, 'refused', long);
      const last = await repo.addLine(batchId, 0, 1, 'refused', long);
      expect(last).toEqual({
        expected: 4,
        submitted: [0, 2],
        completed: [2],
        failed: [0],
        cancelled: [],
        expired: [],
        refused: [1],
        // A reason is kept to its first 300 characters.
        reasons: { '1': 'x'.repeat(300) },
      });
      expect(await repo.blocks(batchId, 1)).toEqual([last]);
      // One block alone, as the batch cancel reads it.
      expect(await repo.block(batchId, 0)).toEqual(last);
    });

    it('counts an outcome that outran its block opening, and keeps it when the block opens', async () => {
      const batchId = id('outran');
      const early = await repo.addLine(batchId, 1, 7, 'completed');
      expect(early.expected).toBe(Number.POSITIVE_INFINITY);
      expect(early.completed).toEqual([7]);
      await repo.openBlock(batchId, 1, 8, {}, 1_900_000_000);
      const [b0, b1] = await repo.blocks(batchId, 2);
      expect(b0?.expected).toBe(Number.POSITIVE_INFINITY);
      expect(b1).toMatchObject({ expected: 8, completed: [7] });
    });

    it('moves the cursor forward only; of two racers to one step, exactly one moves it', async () => {
      const batchId = id('advance');
      await repo.create(headerOf(batchId));
      const answers = await Promise.all([repo.advance(batchId, 1), repo.advance(batchId, 1)]);
      expect(answers.filter(Boolean)).toHaveLength(1);
      expect(await repo.advance(batchId, 1)).toBe(false);
      expect(await repo.advance(batchId, 0)).toBe(false);
      expect(await repo.advance(batchId, 3)).toBe(true);
      expect((await repo.header(batchId))?.cursor).toBe(3);
    });

    it('marks blocks done as a set, concurrently and repeatedly', async () => {
      const batchId = id('done');
      await repo.create(headerOf(batchId));
      await Promise.all([repo.markBlockDone(batchId, 1), repo.markBlockDone(batchId, 0)]);
      const after = await repo.markBlockDone(batchId, 1);
      expect(after?.doneBlocks).toEqual([0, 1]);
      expect(after?.batchId).toBe(batchId);
    });

    it('finishes once, only when expanded and every block is done; of two racers exactly one', async () => {
      const batchId = id('finish');
      await repo.create(headerOf(batchId));
      // Not expanded yet: the size is unknown.
      expect(await repo.finish(batchId, 2, T)).toBe(false);
      await repo.markExpanded(batchId, 7, 2, T);
      await repo.markExpanded(batchId, 7, 2, LATER);
      expect(await repo.header(batchId)).toMatchObject({ total: 7, blocks: 2, expandedAt: T });
      // No block done: size() of a missing set holds no condition.
      expect(await repo.finish(batchId, 2, T)).toBe(false);
      await repo.markBlockDone(batchId, 0);
      expect(await repo.finish(batchId, 2, T)).toBe(false);
      await repo.markBlockDone(batchId, 1);
      // A caller with another idea of the size does not finish it.
      expect(await repo.finish(batchId, 3, T)).toBe(false);
      const answers = await Promise.all([
        repo.finish(batchId, 2, T),
        repo.finish(batchId, 2, LATER),
      ]);
      expect(answers.filter(Boolean)).toHaveLength(1);
      const finishedAt = (await repo.header(batchId))?.finishedAt;
      expect(finishedAt).toBe(answers[0] ? T : LATER);
      expect(await repo.finish(batchId, 2, LATER)).toBe(false);
      expect((await repo.header(batchId))?.finishedAt).toBe(finishedAt);
    });

    it('records the manifest and the announcement on the header', async () => {
      const header = headerOf(id('announce'));
      await repo.create(header);
      await repo.setManifest(header.batchId, 's3://out/batches/m.jsonl');
      await repo.markAnnounced(header.batchId, LATER);
      expect(await repo.header(header.batchId)).toMatchObject({
        ...header,
        manifestLocation: 's3://out/batches/m.jsonl',
        announcedAt: LATER,
      });
    });

    it('creates a bare header when an unconditional update outran create, as UpdateItem does', async () => {
      const batchId = id('bare');
      await repo.markExpanded(batchId, 3, 1, T);
      const bare = await repo.header(batchId);
      expect(bare).toMatchObject({ total: 3, blocks: 1, expandedAt: T, doneBlocks: [] });
      // Only what the update set: no batchId, source or TTL was written.
      expect(bare?.batchId).toBeUndefined();
      expect(bare?.source).toBeUndefined();
      expect(bare?.expiresAt).toBeUndefined();
      // The item exists now, so create refuses it and the header's conditions hold on it.
      await expect(repo.create(headerOf(batchId))).rejects.toMatchObject({
        name: 'ConditionalCheckFailedException',
      });
      expect(await repo.advance(batchId, 1)).toBe(true);
    });
  });
}
