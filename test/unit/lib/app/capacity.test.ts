import { describe, expect, it } from 'vitest';
import {
  NOTE_CACHE_MS,
  NO_NOTE_CACHE_MS,
  cachedCapacityNotes,
} from '../../../../src/lib/app/capacity.ts';
import type { CapacityNote } from '../../../../src/lib/domain/capacity.ts';

const note: CapacityNote = {
  endpointName: 'e',
  instances: 0,
  observedAt: '2026-11-24T12:00:00.000Z',
};

describe('cachedCapacityNotes', () => {
  it('reads an endpoint note at most once per cache period, however often it is asked', async () => {
    let t = 0;
    const reads: string[] = [];
    const get = cachedCapacityNotes(
      async (name) => {
        reads.push(name);
        return name === 'e' ? note : undefined;
      },
      () => t,
    );
    for (let i = 0; i < 50; i++) expect(await get('e')).toEqual(note);
    expect(reads).toEqual(['e']);
    t = NOTE_CACHE_MS;
    await get('e');
    expect(reads).toEqual(['e', 'e']);
    // No note (nothing writes one): asked again only after the longer period.
    await get('none');
    t += NOTE_CACHE_MS * 2;
    await get('none');
    expect(reads.filter((r) => r === 'none')).toHaveLength(1);
    t += NO_NOTE_CACHE_MS;
    await get('none');
    expect(reads.filter((r) => r === 'none')).toHaveLength(2);
  });

  it('a note that cannot be read is no note, never an error', async () => {
    const get = cachedCapacityNotes(async () => {
      throw Object.assign(new Error('x'), { name: 'ProvisionedThroughputExceededException' });
    });
    await expect(get('e')).resolves.toBeUndefined();
  });
});
