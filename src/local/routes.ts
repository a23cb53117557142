import type { FunctionName } from './names.ts';

/*
 * The HTTP API's routes, as serverless.yml declares them (httpApi events): what the sandbox's API
 * Gateway front matches and what `npm start` prints. test/integration/openapi.test.ts checks that
 * this list, serverless.yml and openapi.yaml name the same routes.
 */

export interface Route {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** API Gateway's route path: `{name}` is one path segment. */
  path: string;
  fn: FunctionName;
}

export const ROUTES: readonly Route[] = [
  { method: 'POST', path: '/jobs', fn: 'submitJob' },
  { method: 'GET', path: '/jobs/{inferenceId}', fn: 'getJob' },
  { method: 'GET', path: '/jobs/{inferenceId}/result', fn: 'getResult' },
  { method: 'GET', path: '/jobs', fn: 'listJobs' },
  { method: 'POST', path: '/uploads', fn: 'createUpload' },
  { method: 'POST', path: '/jobs/{inferenceId}/retry', fn: 'retryJob' },
  { method: 'POST', path: '/batches', fn: 'createBatch' },
  { method: 'GET', path: '/batches/{batchId}', fn: 'getBatch' },
  { method: 'POST', path: '/jobs/{inferenceId}/cancel', fn: 'cancelJob' },
  { method: 'POST', path: '/batches/{batchId}/cancel', fn: 'cancelBatch' },
  { method: 'GET', path: '/queue', fn: 'getQueue' },
  { method: 'GET', path: '/activity', fn: 'getActivity' },
];

export interface RouteMatch {
  route: Route;
  /**
   * Path variables, percent-decoded: "API Gateway decodes URL-encoded request parameters before
   * passing them to your backend integration"
   * (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-routes.html).
   */
  params: Record<string, string>;
}

/** The route a request reaches, as API Gateway HTTP API matches it: method and every segment. */
export function matchRoute(
  method: string,
  rawPath: string,
  routes: readonly Route[] = ROUTES,
): RouteMatch | undefined {
  const segments = rawPath.split('/');
  for (const route of routes) {
    if (route.method !== method.toUpperCase()) continue;
    const want = route.path.split('/');
    if (want.length !== segments.length) continue;
    const params: Record<string, string> = {};
    const ok = want.every((w, i) => {
      const got = segments[i] as string;
      const variable = /^\{(\w+)\}$/.exec(w)?.[1];
      if (!variable) return w === got;
      if (got === '') return false;
      try {
        params[variable] = decodeURIComponent(got);
      } catch {
        params[variable] = got;
      }
      return true;
    });
    if (ok) return { route, params };
  }
  return undefined;
}

/** One line per route (method, path, function), aligned, for the start log. */
export function routeLines(routes: readonly Route[] = ROUTES): string[] {
  const width = Math.max(...routes.map((r) => r.path.length));
  return routes.map((r) => `${r.method.padEnd(6)} ${r.path.padEnd(width)}  ${r.fn}`);
}
