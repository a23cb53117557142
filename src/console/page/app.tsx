import { useEffect, useRef, useState } from 'preact/hooks';
import { parseRoute, type Route } from './format.ts';
import { ActivityView } from './activity.tsx';
import { BatchView, BatchesView } from './batch.tsx';
import { JobView } from './job.tsx';
import { JobsView } from './jobs.tsx';
import { QueueView } from './queue.tsx';
import { SubmitView } from './submit.tsx';

/*
 * The console: a hash router over its views. Each navigation moves the focus to the new view's
 * heading, so a keyboard or screen-reader user lands where the content changed.
 */

function useRoute(): Route {
  const [hash, setHash] = useState(location.hash);
  useEffect(() => {
    const onChange = () => setHash(location.hash);
    addEventListener('hashchange', onChange);
    return () => removeEventListener('hashchange', onChange);
  }, []);
  return parseRoute(hash);
}

const TITLES: Record<Route['view'], string> = {
  jobs: 'Jobs',
  job: 'Job',
  batches: 'Batches',
  batch: 'Batch',
  submit: 'Submit',
  activity: 'Activity',
  queue: 'Queue',
};

function Nav({ route }: { route: Route }) {
  const current = (views: Route['view'][]) =>
    views.includes(route.view) ? ('page' as const) : undefined;
  return (
    <nav aria-label="Console">
      <a href="#/jobs" aria-current={current(['jobs', 'job'])}>
        Jobs
      </a>
      <a href="#/batches" aria-current={current(['batches', 'batch'])}>
        Batches
      </a>
      <a href="#/queue" aria-current={current(['queue'])}>
        Queue
      </a>
      <a href="#/activity" aria-current={current(['activity'])}>
        Activity
      </a>
      <a href="#/submit" aria-current={current(['submit'])}>
        Submit
      </a>
    </nav>
  );
}

export function App() {
  const route = useRoute();
  const main = useRef<HTMLElement>(null);
  const key = location.hash;
  const first = useRef(true);
  useEffect(() => {
    document.title = `${TITLES[route.view]} · async-jobs console`;
    if (first.current) {
      first.current = false;
      return;
    }
    main.current?.querySelector<HTMLElement>('h1')?.focus();
  }, [key]);
  return (
    <>
      <a
        class="skip"
        href="#main"
        onClick={(e) => {
          e.preventDefault();
          main.current?.querySelector<HTMLElement>('h1')?.focus();
        }}
      >
        Skip to content
      </a>
      <header class="top">
        <span class="brand">async-jobs</span>
        <Nav route={route} />
      </header>
      <main id="main" ref={main}>
        {route.view === 'jobs' && <JobsView key={key} route={route} />}
        {route.view === 'job' && <JobView key={key} id={route.id} />}
        {route.view === 'batches' && <BatchesView key={key} />}
        {route.view === 'batch' && <BatchView key={key} id={route.id} />}
        {route.view === 'submit' && <SubmitView key={key} />}
        {route.view === 'activity' && <ActivityView key={key} endpoint={route.endpoint} />}
        {route.view === 'queue' && <QueueView key={key} endpoint={route.endpoint} />}
      </main>
    </>
  );
}
