/** Dead letters: list with stage/code filters, one record's decoded value, headers and error; replay, purge. */
import { useState } from "preact/hooks";
import { api, type DlqRecord } from "../api.ts";
import { usePoll } from "../util.tsx";

/** JSON pretty-printed, text as is, binary as a hex dump. */
export function decodeValue(r: Pick<DlqRecord, "value" | "encoding">): { kind: string; text: string } {
  if (r.value === null) return { kind: "null", text: "(no value)" };
  if (r.encoding === "base64") {
    const bin = atob(r.value);
    const rows: string[] = [];
    for (let i = 0; i < bin.length && i < 4096; i += 16) {
      const chunk = bin.slice(i, i + 16);
      const hex = [...chunk].map((c) => c.charCodeAt(0).toString(16).padStart(2, "0")).join(" ");
      const ascii = [...chunk]
        .map((c) => (c.charCodeAt(0) >= 32 && c.charCodeAt(0) < 127 ? c : "."))
        .join("");
      rows.push(`${i.toString(16).padStart(6, "0")}  ${hex.padEnd(48)}  ${ascii}`);
    }
    return { kind: `binary, ${bin.length} bytes`, text: rows.join("\n") };
  }
  try {
    return { kind: "JSON", text: JSON.stringify(JSON.parse(r.value), null, 2) };
  } catch {
    return { kind: "text", text: r.value };
  }
}

export function DlqView({ id }: { id: string }) {
  const src = new URLSearchParams(location.hash.split("?")[1] ?? "").get("src");
  const [items, setItems] = useState<DlqRecord[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [stage, setStage] = useState("");
  const [code, setCode] = useState("");
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [open, setOpen] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const load = async () => {
    try {
      setItems((await api.dlq(id)).items);
      setError(null);
    } catch (err) {
      setError((err as Error).message);
    }
  };
  usePoll(load, 5000);

  const all = items ?? [];
  const stages = [...new Set(all.map((r) => r.stage))].sort();
  const codes = [...new Set(all.map((r) => r.error.code))].sort();
  const shown = all.filter(
    (r) =>
      (stage === "" || r.stage === stage) &&
      (code === "" || r.error.code === code) &&
      (!src || `${r.source.topic}/${r.source.partition}@${r.source.offset}` === src),
  );
  const record = all.find((r) => r.id === open) ?? null;

  const replay = async (which: string[] | "all") => {
    const n = which === "all" ? "every" : String(which.length);
    if (
      !confirm(
        `Replay ${n} dead letter${which !== "all" && which.length === 1 ? "" : "s"} to the source topic?`,
      )
    )
      return;
    setBusy(true);
    try {
      const r = await api.replay(id, which);
      setNotice(`replayed ${r.replayed} record${r.replayed === 1 ? "" : "s"} to ${r.topic}`);
      setSelected(new Set());
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };
  const purge = async () => {
    if (
      !confirm(
        "Purge every current dead letter of this pipeline? They will no longer be listed or replayable.",
      )
    )
      return;
    setBusy(true);
    try {
      const r = await api.purge(id);
      setNotice(`purged ${r.purged} record${r.purged === 1 ? "" : "s"}`);
      await load();
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };
  const toggle = (rid: string) => {
    const next = new Set(selected);
    if (next.has(rid)) next.delete(rid);
    else next.add(rid);
    setSelected(next);
  };

  return (
    <section data-testid="dlq">
      <div class="toolbar">
        <h2>Dead letters</h2>
        <select
          value={stage}
          aria-label="stage"
          onChange={(e) => setStage((e.target as HTMLSelectElement).value)}
        >
          <option value="">any stage</option>
          {stages.map((s) => (
            <option key={s}>{s}</option>
          ))}
        </select>
        <select
          value={code}
          aria-label="error code"
          onChange={(e) => setCode((e.target as HTMLSelectElement).value)}
        >
          <option value="">any code</option>
          {codes.map((c) => (
            <option key={c}>{c}</option>
          ))}
        </select>
        {src && (
          <a class="chip" href={`#/p/${encodeURIComponent(id)}/dlq`}>
            message {src} ✕
          </a>
        )}
        <span class="grow" />
        <button type="button" disabled={busy || selected.size === 0} onClick={() => replay([...selected])}>
          Replay selected ({selected.size})
        </button>
        <button type="button" disabled={busy || all.length === 0} onClick={() => replay("all")}>
          Replay all
        </button>
        <button type="button" class="danger" disabled={busy || all.length === 0} onClick={purge}>
          Purge
        </button>
      </div>
      {error && <p class="error">{error}</p>}
      {notice && (
        <p class="notice" data-testid="dlq-notice">
          {notice}
        </p>
      )}
      {items === null ? (
        <p class="muted">Loading...</p>
      ) : shown.length === 0 ? (
        <p class="muted">No dead letters{all.length ? " match the filters" : ""}.</p>
      ) : (
        <table class="grid" data-testid="dlq-table">
          <thead>
            <tr>
              <th />
              <th>Failed at</th>
              <th>Source</th>
              <th>Stage</th>
              <th>Error</th>
              <th class="num">Attempts</th>
            </tr>
          </thead>
          <tbody>
            {shown.map((r) => (
              <tr key={r.id} class={r.id === open ? "open" : ""} data-record={r.id}>
                <td>
                  <input
                    type="checkbox"
                    aria-label={`select ${r.id}`}
                    checked={selected.has(r.id)}
                    onChange={() => toggle(r.id)}
                  />
                </td>
                <td>{new Date(r.failed_at).toLocaleString()}</td>
                <td>
                  <button type="button" class="link" onClick={() => setOpen(r.id === open ? null : r.id)}>
                    {r.source.topic}/{r.source.partition}@{r.source.offset}
                  </button>
                </td>
                <td>{r.stage}</td>
                <td class="error small">
                  {r.error.code}: {r.error.message}
                </td>
                <td class="num">{r.attempts}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {record && <RecordDetail r={record} />}
    </section>
  );
}

function RecordDetail({ r }: { r: DlqRecord }) {
  const v = decodeValue(r);
  const headers = Object.entries(r.headers);
  return (
    <div class="detail" data-testid="dlq-record">
      <h3>
        Record {r.id}{" "}
        <span class="muted small">handler {r.handler_version ? `v${r.handler_version}` : "-"}</span>
      </h3>
      <h4>
        Value <span class="muted small">({v.kind})</span>
      </h4>
      <pre data-testid="dlq-value">{v.text}</pre>
      {r.key !== null && (
        <>
          <h4>Key</h4>
          <pre>{r.key}</pre>
        </>
      )}
      <h4>Headers</h4>
      {headers.length === 0 ? (
        <p class="muted">none</p>
      ) : (
        <table class="grid small">
          <tbody>
            {headers.map(([k, val]) => (
              <tr key={k}>
                <td>{k}</td>
                <td>{val}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <h4>Error</h4>
      <pre class="error">
        {r.error.name} {r.error.code}: {r.error.message}
        {r.error.stack ? `\n${r.error.stack}` : ""}
      </pre>
    </div>
  );
}
