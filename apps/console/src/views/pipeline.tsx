/** One pipeline: state, counters, workers, per-partition lag, charts of the last hour, pause/resume/delete. */
import { useState } from "preact/hooks";
import { api, type HistoryPoint, type PipelineView } from "../api.ts";
import { fmt, StateBadge, stateReason, time, totalLag, usePoll } from "../util.tsx";
import { Chart } from "./chart.tsx";

/** Per-second rates (or per-bucket increases) between consecutive points; a counter drop reads as 0. */
function deltas(points: HistoryPoint[], key: keyof HistoryPoint, perSecond: boolean): (number | null)[] {
  return points.map((p, i) => {
    const prev = points[i - 1];
    if (!prev) return null;
    const d = Math.max(0, p[key] - prev[key]);
    return perSecond ? d / Math.max(1, (p.t - prev.t) / 1000) : d;
  });
}

export function PipelineDetail({ id }: { id: string }) {
  const [p, setP] = useState<PipelineView | null>(null);
  const [points, setPoints] = useState<HistoryPoint[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  usePoll(async () => {
    try {
      setP(await api.pipeline(id));
      setError(null);
    } catch (err) {
      setError((err as Error).message);
    }
  }, 2000);
  usePoll(async () => {
    try {
      setPoints((await api.history(id)).points);
    } catch {
      // The status poll shows errors.
    }
  }, 5000);

  const act = async (what: "pause" | "resume" | "delete") => {
    if (!p) return;
    const question =
      what === "delete"
        ? `Delete pipeline ${p.name}, its handler versions and logs? This cannot be undone.`
        : `${what === "pause" ? "Pause" : "Resume"} pipeline ${p.name}?`;
    if (!confirm(question)) return;
    setBusy(true);
    try {
      if (what === "delete") {
        await api.remove(p.id);
        location.hash = "#/";
        return;
      }
      setP(await (what === "pause" ? api.pause(p.id) : api.resume(p.id)));
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };

  if (!p) return <section>{error ? <p class="error">{error}</p> : <p class="muted">Loading...</p>}</section>;
  const s = p.status;
  const reason = stateReason(p);
  const times = points.map((x) => x.t);
  return (
    <section data-testid="pipeline">
      <div class="toolbar">
        <h2>{p.name}</h2>
        <StateBadge state={s.state} />
        <span class="muted">
          desired {s.desired} · revision {p.revision} · handler{" "}
          {p.current_version ? `v${p.current_version.version}` : "none"}
        </span>
        <span class="grow" />
        {s.desired === "running" ? (
          <button type="button" disabled={busy} onClick={() => act("pause")}>
            Pause
          </button>
        ) : (
          <button type="button" disabled={busy} onClick={() => act("resume")}>
            Resume
          </button>
        )}
        <button type="button" class="danger" disabled={busy} onClick={() => act("delete")}>
          Delete
        </button>
      </div>
      {error && <p class="error">{error}</p>}
      {reason && <p class="reason">{reason}</p>}
      {s.last_error && !reason && (
        <p class="small">
          last error: <span class="error">{`${s.last_error.code}: ${s.last_error.message}`}</span>
        </p>
      )}
      <div class="cards" data-testid="counters">
        {(
          [
            ["messages in", s.counters.messages_in],
            ["rows out", s.counters.rows_out],
            ["dropped", s.counters.dropped],
            ["failed", s.counters.failed],
            ["dead letters", s.counters.dlq],
            ["retries", s.counters.retries],
            ["total lag", totalLag(p)],
          ] as const
        ).map(([label, n]) => (
          <div class="card" key={label} data-counter={label}>
            <div class="n">{fmt(n)}</div>
            <div class="muted small">{label}</div>
          </div>
        ))}
      </div>
      <div class="charts">
        <Chart
          title="Rows per second"
          testId="chart-rows"
          times={times}
          series={[
            { label: "in", color: "#2563eb", values: deltas(points, "messages_in", true) },
            { label: "out", color: "#16a34a", values: deltas(points, "rows_out", true) },
          ]}
        />
        <Chart
          title="Total lag"
          testId="chart-lag"
          times={times}
          series={[{ label: "lag", color: "#d97706", values: points.map((x) => x.lag) }]}
        />
        <Chart
          title="Dead letters and retries per interval"
          testId="chart-dlq"
          times={times}
          series={[
            { label: "dead letters", color: "#dc2626", values: deltas(points, "dlq", false) },
            { label: "retries", color: "#7c3aed", values: deltas(points, "retries", false) },
          ]}
        />
      </div>
      <h3>Partitions</h3>
      {s.lag.length === 0 ? (
        <p class="muted">No partition reported yet.</p>
      ) : (
        <table class="grid" data-testid="lag-table">
          <thead>
            <tr>
              <th>Topic</th>
              <th class="num">Partition</th>
              <th class="num">Committed</th>
              <th class="num">High watermark</th>
              <th class="num">Lag</th>
            </tr>
          </thead>
          <tbody>
            {s.lag.map((l) => (
              <tr key={`${l.topic}-${l.partition}`}>
                <td>{l.topic}</td>
                <td class="num">{l.partition}</td>
                <td class="num">{l.committed ?? "-"}</td>
                <td class="num">{l.high_watermark}</td>
                <td class="num">{fmt(l.lag)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <h3>Workers</h3>
      {s.workers.length === 0 ? (
        <p class="muted">No live worker runs this pipeline.</p>
      ) : (
        <table class="grid">
          <thead>
            <tr>
              <th>Worker</th>
              <th>State</th>
              <th class="num">Revision</th>
              <th>Handler</th>
              <th>Reported</th>
            </tr>
          </thead>
          <tbody>
            {s.workers.map((w) => (
              <tr key={w.worker_id}>
                <td>{w.worker_id}</td>
                <td>
                  <StateBadge state={w.state} />
                </td>
                <td class="num">{w.revision}</td>
                <td>{w.handler_version ?? "-"}</td>
                <td>{time(w.reported_at)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
