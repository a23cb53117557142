import { STATUS_LABEL } from './format.ts';

/** A status as a word and a colour; the word carries the meaning, the colour only helps. */
export function Status({ status }: { status: string }) {
  return (
    <span class={`status status-${status.toLowerCase()}`}>{STATUS_LABEL[status] ?? status}</span>
  );
}
