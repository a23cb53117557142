import { useEffect, useRef, useState } from 'preact/hooks';
import {
  AsyncJobsError,
  browserClient,
  type JobsClient,
  type Upload,
} from '../../client/browser.ts';

/*
 * The page's one client: the typed client over plain fetch to the page's own origin, which is the
 * API (the sandbox) or forwards to it signed (`async-jobs console`). The page holds no secret.
 */
export const api: JobsClient = browserClient(location.origin);

/**
 * Inputs above this go through POST /uploads, as the CLI's do: a Lambda request carries at most
 * 6 MiB, and API Gateway passes a binary body in base64 (a third larger).
 */
export const UPLOAD_THRESHOLD = 4 * 1024 * 1024;

/** The console server's same-origin relay of a presigned PUT (the page may connect to itself only). */
const UPLOAD_RELAY = '/console/upload';

export function messageOf(err: unknown): string {
  if (err instanceof AsyncJobsError) return err.message;
  return err instanceof Error ? err.message : String(err);
}

async function sha256Base64(bytes: ArrayBuffer): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
  let s = '';
  for (const b of digest) s += String.fromCharCode(b);
  return btoa(s);
}

/** A file too large for POST /jobs: an upload URL, the PUT (through the relay), its location. */
export async function uploadInput(file: File, contentType: string): Promise<string> {
  const bytes = await file.arrayBuffer();
  const upload: Upload = await api.createUpload({
    contentType,
    contentLength: file.size,
    checksumSha256: await sha256Base64(bytes),
  });
  const res = await fetch(UPLOAD_RELAY, {
    method: 'PUT',
    headers: { ...upload.headers, 'x-upload-url': upload.uploadUrl },
    body: bytes,
  });
  if (!res.ok) throw new Error(`the upload was refused (HTTP ${res.status})`);
  return upload.inputLocation;
}

export interface Polled<T> {
  data?: T;
  error?: string;
  /** Reads again now (after an action). */
  refresh: () => void;
}

/**
 * `load()` now and every `everyMs` while the page shows it (and `keepGoing(data)` holds); a
 * failed read is shown and retried on the same beat. Stops when the view goes or its deps change
 * (each route mounts its view anew, so no view shows another's data).
 */
export function usePoll<T>(
  load: () => Promise<T>,
  deps: unknown[],
  everyMs = 2000,
  keepGoing: (data: T) => boolean = () => true,
): Polled<T> {
  const [state, setState] = useState<{ data?: T; error?: string }>({});
  const [tick, setTick] = useState(0);
  const loadRef = useRef(load);
  loadRef.current = load;
  useEffect(() => {
    let live = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const run = async () => {
      let again = true;
      try {
        const data = await loadRef.current();
        if (!live) return;
        setState({ data });
        again = keepGoing(data);
      } catch (err) {
        if (!live) return;
        setState((s) => ({ data: s.data, error: messageOf(err) }));
      }
      if (live && again) timer = setTimeout(run, everyMs);
    };
    void run();
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [...deps, tick]);
  return { ...state, refresh: () => setTick((t) => t + 1) };
}
