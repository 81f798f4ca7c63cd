/** Pipelines: every pipeline the token can see, with state, version, throughput, lag and last error. */
import { useRef, useState } from "preact/hooks";
import { allPipelines, type PipelineView } from "../api.ts";
import { fmt, StateBadge, stateReason, totalLag, usePoll } from "../util.tsx";

const STATES = ["running", "paused", "failing", "deploying", "stalled", "waiting_for_handler"];

export function PipelinesView() {
  const [items, setItems] = useState<PipelineView[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [rates, setRates] = useState<Record<string, number>>({});
  const [name, setName] = useState("");
  const [state, setState] = useState("");
  // rows/s from the difference of the summed counters between two polls.
  const prev = useRef(new Map<string, { at: number; rows: number }>());

  usePoll(async () => {
    try {
      const list = await allPipelines();
      const now = Date.now();
      const next: Record<string, number> = {};
      for (const p of list) {
        const before = prev.current.get(p.id);
        const rows = p.status.counters.rows_out;
        if (before && now > before.at)
          next[p.id] = Math.max(0, ((rows - before.rows) * 1000) / (now - before.at));
        prev.current.set(p.id, { at: now, rows });
      }
      setRates(next);
      setItems(list);
      setError(null);
    } catch (err) {
      setError((err as Error).message);
    }
  }, 3000);

  const shown = (items ?? []).filter(
    (p) =>
      (state === "" || p.status.state === state) &&
      (name === "" || `${p.project}/${p.name}`.toLowerCase().includes(name.toLowerCase())),
  );
  return (
    <section data-testid="pipelines">
      <div class="toolbar">
        <h2>Pipelines</h2>
        <input
          type="search"
          placeholder="filter by name"
          value={name}
          aria-label="filter by name"
          onInput={(e) => setName((e.target as HTMLInputElement).value)}
        />
        <select
          value={state}
          aria-label="filter by state"
          onChange={(e) => setState((e.target as HTMLSelectElement).value)}
        >
          <option value="">any state</option>
          {STATES.map((s) => (
            <option value={s} key={s}>
              {s}
            </option>
          ))}
        </select>
      </div>
      {error && <p class="error">{error}</p>}
      {items === null ? (
        <p class="muted">Loading...</p>
      ) : shown.length === 0 ? (
        <p class="muted">{items.length === 0 ? "No pipelines yet." : "No pipeline matches the filter."}</p>
      ) : (
        <table class="grid">
          <thead>
            <tr>
              <th>Name</th>
              <th>State</th>
              <th>Handler</th>
              <th class="num">Rows/s</th>
              <th class="num">Total lag</th>
              <th>Last error</th>
            </tr>
          </thead>
          <tbody>
            {shown.map((p) => {
              const reason = stateReason(p);
              return (
                <tr key={p.id} data-pipeline={p.name}>
                  <td>
                    <a href={`#/p/${encodeURIComponent(p.id)}`}>{p.name}</a>
                    <div class="muted small">{p.project}</div>
                  </td>
                  <td>
                    <StateBadge state={p.status.state} />
                    {reason && <div class="reason small">{reason}</div>}
                  </td>
                  <td>
                    {p.current_version ? `v${p.current_version.version}` : <span class="muted">none</span>}
                  </td>
                  <td class="num">{rates[p.id] === undefined ? "-" : fmt(rates[p.id]!)}</td>
                  <td class="num">{fmt(totalLag(p))}</td>
                  <td class="small">
                    {p.status.last_error ? (
                      <span class="error" title={p.status.last_error.stack ?? ""}>
                        {p.status.last_error.code}: {p.status.last_error.message}
                      </span>
                    ) : (
                      <span class="muted">none</span>
                    )}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </section>
  );
}
