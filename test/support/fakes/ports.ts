import { loadConfig, type Config } from '../../../src/lib/config.ts';
import type { SubmitDeps } from '../../../src/lib/app/submit.ts';
import type { ResultDeps } from '../../../src/lib/app/results.ts';
import { FakeDeadlines, fakeClock } from './clock.ts';
import { FakeEndpoint } from './endpoint.ts';
import { FakeJobRepository } from './job-repository.ts';
import { FakeMetrics } from './metrics.ts';
import { FakeObjectStore } from './object-store.ts';

/*
 * Every port of a use case filled with its fake: what a use-case test starts from, then
 * overrides. The fakes are returned too, so the test reads what the use case did through them.
 */

export const T0 = '2026-11-24T12:00:00Z';

export function submitFakes(overrides: Partial<SubmitDeps> = {}) {
  const fakes = {
    store: new FakeJobRepository(),
    objects: new FakeObjectStore(),
    endpoint: new FakeEndpoint(),
    metrics: new FakeMetrics(),
    deadlines: new FakeDeadlines(),
  };
  const deps: SubmitDeps = {
    config: loadConfig(),
    ...fakes,
    now: fakeClock(T0),
    remainingMs: () => 29_000,
    ...overrides,
  };
  return { deps, ...fakes };
}

export function endingFakes(
  overrides: Partial<ResultDeps> = {},
  config: Config = loadConfig(),
): {
  deps: ResultDeps;
  store: FakeJobRepository;
  objects: FakeObjectStore;
  metrics: FakeMetrics;
} {
  const fakes = {
    store: new FakeJobRepository(),
    objects: new FakeObjectStore(),
    metrics: new FakeMetrics(),
  };
  return { deps: { config, ...fakes, now: fakeClock(T0), ...overrides }, ...fakes };
}
