import { useRef, useState } from 'preact/hooks';
import { api, messageOf, uploadInput, UPLOAD_THRESHOLD } from './api.ts';
import { contentTypeOf, formatBytes, hrefOf } from './format.ts';

interface Sent {
  name: string;
  id?: string;
  error?: string;
}

/** One file, one job: inline up to the threshold, else through POST /uploads. */
async function submitFile(file: File, typeOverride: string, id: string): Promise<string> {
  const contentType = typeOverride || contentTypeOf(file.name, file.type);
  const input =
    file.size > UPLOAD_THRESHOLD
      ? { inputLocation: await uploadInput(file, contentType) }
      : new Uint8Array(await file.arrayBuffer());
  const { job } = await api.submit(input, { contentType, inferenceId: id || undefined });
  return job.inferenceId;
}

export function SubmitView() {
  const [over, setOver] = useState(false);
  const [busy, setBusy] = useState(false);
  const [sent, setSent] = useState<Sent[]>([]);
  const [type, setType] = useState('');
  const [id, setId] = useState('');
  const input = useRef<HTMLInputElement>(null);

  const send = async (files: File[]) => {
    if (files.length === 0) return;
    setBusy(true);
    const out: Sent[] = [];
    for (const f of files) {
      try {
        out.push({ name: f.name, id: await submitFile(f, type, files.length === 1 ? id : '') });
      } catch (err) {
        out.push({ name: f.name, error: messageOf(err) });
      }
    }
    setBusy(false);
    setSent(out);
    if (input.current) input.current.value = '';
    // One job: straight to its page, to watch it run.
    if (out.length === 1 && out[0]!.id) location.hash = hrefOf({ view: 'job', id: out[0]!.id });
  };

  return (
    <section aria-labelledby="submit-title">
      <h1 id="submit-title" tabIndex={-1}>
        Submit
      </h1>
      <div class="filters">
        <label>
          Content type
          <input
            value={type}
            placeholder="from the file"
            onInput={(e) => setType(e.currentTarget.value)}
          />
        </label>
        <label>
          Job id
          <input value={id} placeholder="generated" onInput={(e) => setId(e.currentTarget.value)} />
        </label>
      </div>
      <div
        class={`dropzone${over ? ' over' : ''}`}
        onDragOver={(e) => {
          e.preventDefault();
          setOver(true);
        }}
        onDragLeave={() => setOver(false)}
        onDrop={(e) => {
          e.preventDefault();
          setOver(false);
          void send([...(e.dataTransfer?.files ?? [])]);
        }}
      >
        <label for="file-input">
          <strong>Drop a file here</strong> or choose one: each file becomes a job (files over{' '}
          {formatBytes(UPLOAD_THRESHOLD)} go through an upload URL).
        </label>
        <input
          id="file-input"
          ref={input}
          type="file"
          multiple
          disabled={busy}
          onChange={(e) => void send([...(e.currentTarget.files ?? [])])}
        />
      </div>
      <p aria-live="polite">{busy ? 'Submitting ...' : ''}</p>
      {sent.length > 0 && (
        <ul class="sent">
          {sent.map((s, i) => (
            <li key={i}>
              {s.name}:{' '}
              {s.id ? (
                <a href={hrefOf({ view: 'job', id: s.id })}>{s.id}</a>
              ) : (
                <span class="error" role="alert">
                  {s.error}
                </span>
              )}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
