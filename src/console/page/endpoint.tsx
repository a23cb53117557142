/**
 * The endpoint filter of the list, the activity and the queue (`?endpoint=` in the hash): shown
 * only where there is a choice, several endpoints known or one chosen (so it can be cleared).
 */
export function EndpointFilter({
  known,
  value,
  onChange,
}: {
  known: readonly string[];
  value: string | undefined;
  onChange: (endpoint: string | undefined) => void;
}) {
  const names = [...new Set([...known, ...(value ? [value] : [])])].sort();
  if (names.length < 2 && !value) return null;
  return (
    <label>
      Endpoint
      <select value={value ?? ''} onChange={(e) => onChange(e.currentTarget.value || undefined)}>
        <option value="">All endpoints</option>
        {names.map((n) => (
          <option value={n} key={n}>
            {n}
          </option>
        ))}
      </select>
    </label>
  );
}
