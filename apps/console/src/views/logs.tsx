/**
 * Logs: the last lines, then the live tail (SSE) from the newest one on, so nothing falls between.
 * Level filters on the server (the stream restarts from the last line seen); text filters here.
 * Pause stops the stream; resume picks up after the last line received, without a gap.
 */
import { useEffect, useRef, useState } from "preact/hooks";
import { api, type LogEntry, tailLogs } from "../api.ts";

const MAX_LINES = 2000;

function tag(l: LogEntry): string | null {
  return l.topic !== undefined && l.partition !== undefined && l.offset !== undefined
    ? `${l.topic}/${l.partition}@${l.offset}`
    : null;
}

export function LogsView({ id }: { id: string }) {
  const [lines, setLines] = useState<LogEntry[]>([]);
  const [level, setLevel] = useState("");
  const [text, setText] = useState("");
  const [paused, setPaused] = useState(false);
  const [conn, setConn] = useState<string>("connecting");
  const [error, setError] = useState<string | null>(null);
  const lastId = useRef<number | undefined>(undefined);
  const loaded = useRef(false);
  const list = useRef<HTMLDivElement>(null);
  const follow = useRef(true);

  useEffect(() => {
    if (paused) {
      setConn("paused");
      return;
    }
    let stop: (() => void) | null = null;
    let cancelled = false;
    const start = async () => {
      if (!loaded.current) {
        // The newest lines first (the page is newest first), then the tail after the newest.
        try {
          const page = await api.logs(id, level || undefined);
          const items = page.items.slice().reverse();
          setLines(items);
          lastId.current = items[items.length - 1]?.id ?? 0;
          loaded.current = true;
        } catch (err) {
          setError((err as Error).message);
          return;
        }
      }
      if (cancelled) return;
      stop = tailLogs(
        id,
        { level: level || undefined, afterId: lastId.current },
        (line) => {
          lastId.current = line.id;
          setLines((prev) => {
            const next = prev.length >= MAX_LINES ? prev.slice(prev.length - MAX_LINES + 1) : prev.slice();
            next.push(line);
            return next;
          });
        },
        (state, err) => {
          setConn(state);
          if (err) setError(err);
          else if (state === "live") setError(null);
        },
      );
    };
    void start();
    return () => {
      cancelled = true;
      stop?.();
    };
  }, [id, level, paused]);

  useEffect(() => {
    const el = list.current;
    if (el && follow.current) el.scrollTop = el.scrollHeight;
  });

  const needle = text.toLowerCase();
  const shown = needle
    ? lines.filter((l) =>
        `${l.message} ${l.fields ? JSON.stringify(l.fields) : ""}`.toLowerCase().includes(needle),
      )
    : lines;
  return (
    <section data-testid="logs">
      <div class="toolbar">
        <h2>Logs</h2>
        <select
          value={level}
          aria-label="minimum level"
          onChange={(e) => {
            // A new level: reload the page of recent lines at that level.
            loaded.current = false;
            setLevel((e.target as HTMLSelectElement).value);
          }}
        >
          <option value="">all levels</option>
          <option value="info">info and above</option>
          <option value="warn">warn and above</option>
          <option value="error">errors</option>
        </select>
        <input
          type="search"
          placeholder="filter text"
          aria-label="filter text"
          value={text}
          onInput={(e) => setText((e.target as HTMLInputElement).value)}
        />
        <button type="button" onClick={() => setPaused(!paused)} data-testid="logs-toggle">
          {paused ? "Resume" : "Pause"}
        </button>
        <span class={`conn conn-${conn}`} data-testid="logs-state">
          {conn}
        </span>
        <span class="muted small">
          {shown.length} of {lines.length} lines
        </span>
      </div>
      {error && <p class="error">{error}</p>}
      <div
        class="loglines"
        ref={list}
        onScroll={(e) => {
          const el = e.target as HTMLDivElement;
          follow.current = el.scrollTop + el.clientHeight >= el.scrollHeight - 20;
        }}
      >
        {shown.map((l) => {
          const t = tag(l);
          return (
            <div class={`logline lvl-${l.level}`} key={l.id} data-id={l.id}>
              <span class="t">{new Date(l.time).toISOString().slice(11, 23)}</span>
              <span class="lvl">{l.level}</span>
              <span class="src">{l.source}</span>
              {t && (
                <a
                  class="tag"
                  title="dead letters of this message, if any"
                  href={`#/p/${encodeURIComponent(id)}/dlq?src=${encodeURIComponent(t)}`}
                >
                  {t}
                </a>
              )}
              <span class="msg">{l.message}</span>
              {l.fields && Object.keys(l.fields).length > 0 && (
                <span class="fields">{JSON.stringify(l.fields)}</span>
              )}
            </div>
          );
        })}
      </div>
    </section>
  );
}
