import { useEffect, useRef } from 'preact/hooks';
import uPlot, { type AlignedData, type Options } from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { ActivityView as Activity } from '../../client/browser.ts';
import { api, usePoll } from './api.ts';
import { EndpointFilter } from './endpoint.tsx';
import { hrefOf } from './format.ts';

/*
 * GET /activity as two charts (uPlot, on canvas): endings per minute by status, and
 * submit-to-result p50/p99 of the completed jobs. A canvas says nothing to a screen reader or
 * the keyboard, so each chart is a focusable figure with a text summary, and the numbers are in a
 * table under it. uPlot sizes its elements through the CSSOM (`el.style.x = ...`), which the
 * page's CSP (no inline style) allows; its stylesheet is bundled into app.css.
 */

const MINUTES = 60;

interface Series {
  label: string;
  stroke: string;
  /** Dots on the values: a minute alone between empty ones has no line to show it. */
  points?: boolean;
  values: (m: Activity['minutes'][number]) => number | null;
}

const COUNT_SERIES: Series[] = [
  { label: 'Completed', stroke: '#116329', values: (m) => m.completed },
  { label: 'Failed', stroke: '#a40e26', values: (m) => m.failed },
  { label: 'Expired', stroke: '#7d4e00', values: (m) => m.expired },
  { label: 'Cancelled', stroke: '#57606a', values: (m) => m.cancelled },
];

const TIME_SERIES: Series[] = [
  { label: 'p50 (ms)', stroke: '#0a58ca', points: true, values: (m) => m.p50Ms },
  { label: 'p99 (ms)', stroke: '#8250df', points: true, values: (m) => m.p99Ms },
];

function dataOf(view: Activity, series: Series[]): AlignedData {
  return [
    view.minutes.map((m) => Date.parse(m.at) / 1000),
    ...series.map((s) => view.minutes.map(s.values)),
  ];
}

function Chart({
  id,
  title,
  summary,
  series,
  view,
}: {
  id: string;
  title: string;
  summary: string;
  series: Series[];
  view: Activity;
}) {
  const box = useRef<HTMLDivElement>(null);
  const chart = useRef<uPlot | null>(null);
  useEffect(() => {
    const el = box.current!;
    const opts: Options = {
      width: Math.max(280, el.clientWidth),
      height: 220,
      legend: { show: false },
      cursor: { show: false },
      scales: { y: { range: (_u, _min, max) => [0, Math.max(1, max) * 1.1] } },
      series: [
        {},
        ...series.map((s) => ({
          label: s.label,
          stroke: s.stroke,
          width: 2,
          spanGaps: false,
          ...(s.points ? { points: { show: true, size: 6, fill: s.stroke } } : {}),
        })),
      ],
      axes: [{}, { size: 60 }],
    };
    const u = new uPlot(opts, dataOf(view, series), el);
    chart.current = u;
    const resized = new ResizeObserver(() =>
      u.setSize({ width: Math.max(280, el.clientWidth), height: 220 }),
    );
    resized.observe(el);
    return () => {
      resized.disconnect();
      u.destroy();
      chart.current = null;
    };
  }, []);
  useEffect(() => {
    chart.current?.setData(dataOf(view, series));
  }, [view]);
  return (
    <figure class="chart" aria-labelledby={`${id}-title`}>
      <figcaption id={`${id}-title`}>
        <strong>{title}</strong>
        <span class="legend">
          {series.map((s) => (
            <span key={s.label} class={`key key-${s.label.split(' ')[0]!.toLowerCase()}`}>
              {s.label}
            </span>
          ))}
        </span>
      </figcaption>
      <div
        ref={box}
        class="plot"
        role="img"
        tabIndex={0}
        aria-label={summary}
        data-testid={`${id}-plot`}
      />
    </figure>
  );
}

const sum = (view: Activity, pick: (m: Activity['minutes'][number]) => number) =>
  view.minutes.reduce((s, m) => s + pick(m), 0);

function latest(view: Activity, pick: (m: Activity['minutes'][number]) => number | null) {
  for (let i = view.minutes.length - 1; i >= 0; i--) {
    const v = pick(view.minutes[i]!);
    if (v !== null) return v;
  }
  return null;
}

/** The stack's endpoints as an unfiltered read named them, for the filter once one is chosen. */
const seenEndpoints = new Set<string>();

export function ActivityView({ endpoint }: { endpoint?: string }) {
  const activity = usePoll(() => api.getActivity({ minutes: MINUTES, endpoint }), [], 10_000);
  const view = activity.data;
  const errorPct = view ? Math.round(view.percentileError * 1000) / 10 : undefined;
  const p50 = view ? latest(view, (m) => m.p50Ms) : null;
  const p99 = view ? latest(view, (m) => m.p99Ms) : null;
  if (view && !endpoint) for (const e of view.endpoints) seenEndpoints.add(e);
  return (
    <section aria-labelledby="activity-title">
      <h1 id="activity-title" tabIndex={-1}>
        Activity
      </h1>
      <p>
        The last hour, minute by minute, over {view ? view.endpoints.join(', ') : 'the endpoints'}.
        Percentiles are within {errorPct ?? '...'}% of the true time (a log-scale histogram).
      </p>
      <div class="filters">
        <EndpointFilter
          known={[...seenEndpoints, ...(view?.endpoints ?? [])]}
          value={endpoint}
          onChange={(e) => (location.hash = hrefOf({ view: 'activity', endpoint: e }))}
        />
      </div>
      {activity.error && (
        <p class="error" role="alert">
          {activity.error}
        </p>
      )}
      {!view && !activity.error && <p aria-live="polite">Loading ...</p>}
      {view && (
        <>
          <Chart
            id="endings"
            title="Jobs ended per minute"
            series={COUNT_SERIES}
            view={view}
            summary={`In the last hour: ${sum(view, (m) => m.completed)} completed, ${sum(view, (m) => m.failed)} failed, ${sum(view, (m) => m.expired)} expired, ${sum(view, (m) => m.cancelled)} cancelled.`}
          />
          <Chart
            id="times"
            title="Submit to result (completed jobs)"
            series={TIME_SERIES}
            view={view}
            summary={
              p50 === null
                ? 'No job completed in the last hour.'
                : `Latest minute with results: p50 ${p50} ms, p99 ${p99} ms.`
            }
          />
          <details>
            <summary>The figures as a table</summary>
            <div class="table-wrap">
              <table class="activity-table">
                <caption>Endings and submit-to-result per minute (UTC)</caption>
                <thead>
                  <tr>
                    <th scope="col">Minute</th>
                    <th scope="col">Completed</th>
                    <th scope="col">Failed</th>
                    <th scope="col">Expired</th>
                    <th scope="col">Cancelled</th>
                    <th scope="col">p50 ms</th>
                    <th scope="col">p99 ms</th>
                  </tr>
                </thead>
                <tbody>
                  {view.minutes
                    .filter((m) => m.completed + m.failed + m.expired + m.cancelled > 0)
                    .map((m) => (
                      <tr key={m.at}>
                        <th scope="row">{m.at.slice(11, 16)}</th>
                        <td>{m.completed}</td>
                        <td>{m.failed}</td>
                        <td>{m.expired}</td>
                        <td>{m.cancelled}</td>
                        <td>{m.p50Ms ?? '-'}</td>
                        <td>{m.p99Ms ?? '-'}</td>
                      </tr>
                    ))}
                </tbody>
              </table>
            </div>
          </details>
        </>
      )}
    </section>
  );
}
