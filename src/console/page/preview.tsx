import { useEffect, useState } from 'preact/hooks';
import type { JobRecord } from '../../client/browser.ts';
import { api, messageOf } from './api.ts';
import { formatBytes, parseCsv, prettyJson, previewKind } from './format.ts';

/** Text shown in full up to this many characters; the rest is in the download. */
const TEXT_PREVIEW_CHARS = 20_000;

function Download({ job, label }: { job: JobRecord; label: string }) {
  return (
    <p>
      <a class="button" href={api.resultUrl(job.inferenceId)} download={`${job.inferenceId}.out`}>
        {label}
      </a>{' '}
      <span class="muted">
        {job.outputContentType ?? 'unknown type'}
        {job.resultBytes !== undefined && `, ${formatBytes(job.resultBytes)}`}
      </span>
    </p>
  );
}

function CsvTable({ text }: { text: string }) {
  const rows = parseCsv(text);
  const width = Math.max(...rows.map((r) => r.length));
  return (
    <div class="table-wrap">
      <table class="csv">
        <caption class="muted">
          {rows.length} row{rows.length === 1 ? '' : 's'}
        </caption>
        <tbody>
          {rows.map((r, i) => (
            <tr key={i}>
              <th scope="row">{i + 1}</th>
              {Array.from({ length: width }, (_, c) => (
                <td key={c}>{r[c] ?? ''}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function Image({ bytes, type, alt }: { bytes: Uint8Array; type: string; alt: string }) {
  const [url, setUrl] = useState<string>();
  useEffect(() => {
    const u = URL.createObjectURL(new Blob([bytes as BlobPart], { type }));
    setUrl(u);
    return () => URL.revokeObjectURL(u);
  }, [bytes, type]);
  return url ? <img class="result-image" src={url} alt={alt} /> : null;
}

/**
 * A completed job's output, by its content type: JSON pretty, CSV as a table, an image inline,
 * other text as text, anything else (or an output stored in S3) as a download. Read from
 * GET /jobs/{id}/result when the record holds it inline; a larger one is only linked (its 302 to
 * S3 is for the browser to follow, not for the page to read).
 */
export function ResultPreview({ job }: { job: JobRecord }) {
  const [read, setRead] = useState<{ bytes: Uint8Array; type?: string; error?: string }>();
  const inline = job.result !== undefined;
  useEffect(() => {
    if (!inline) return;
    let live = true;
    api.result(job.inferenceId).then(
      (r) => live && setRead({ bytes: r.bytes, type: r.contentType }),
      (err: unknown) => live && setRead({ bytes: new Uint8Array(), error: messageOf(err) }),
    );
    return () => {
      live = false;
    };
  }, [job.inferenceId, inline]);
  if (!inline) return <Download job={job} label="Download the result" />;
  if (!read) return <p aria-live="polite">Loading the result ...</p>;
  if (read.error) {
    return (
      <p class="error" role="alert">
        Cannot read the result: {read.error}
      </p>
    );
  }
  const type = read.type ?? job.outputContentType;
  const kind = previewKind(type);
  const text = kind === 'binary' || kind === 'image' ? '' : new TextDecoder().decode(read.bytes);
  return (
    <div class="preview" data-kind={kind}>
      {kind === 'json' && <pre tabIndex={0}>{prettyJson(text) ?? text}</pre>}
      {kind === 'csv' && <CsvTable text={text} />}
      {kind === 'text' && <pre tabIndex={0}>{text.slice(0, TEXT_PREVIEW_CHARS)}</pre>}
      {kind === 'image' && (
        <Image
          bytes={read.bytes}
          type={type ?? 'image/png'}
          alt={`the result of ${job.inferenceId}`}
        />
      )}
      <Download job={job} label={kind === 'binary' ? 'Download the result' : 'Download'} />
    </div>
  );
}

function decoded(job: JobRecord): string | undefined {
  if (job.result === undefined) return undefined;
  if (job.resultEncoding !== 'base64') return job.result;
  const raw = atob(job.result);
  return new TextDecoder().decode(Uint8Array.from(raw, (c) => c.charCodeAt(0)));
}

/** A failed job's failure body, which the record holds (docs/api.md: `result` of a failure). */
export function FailureBody({ job }: { job: JobRecord }) {
  const body = decoded(job);
  if (body === undefined) {
    return job.failureLocation ? (
      <p class="muted">The failure body is stored at {job.failureLocation}.</p>
    ) : null;
  }
  return (
    <>
      <h3>Failure body</h3>
      <pre class="failure-body" tabIndex={0}>
        {body.slice(0, TEXT_PREVIEW_CHARS)}
      </pre>
    </>
  );
}
