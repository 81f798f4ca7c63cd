/**
 * Handler: a CodeMirror editor on the current version's source, upload (compile errors marked at
 * their line in the editor and listed below it), the version list with open and rollback.
 */
import { javascript, javascriptLanguage } from "@codemirror/lang-javascript";
import { type Diagnostic as CmDiagnostic, lintGutter, setDiagnostics } from "@codemirror/lint";
import { MergeView } from "@codemirror/merge";
import { Compartment, EditorState, type Text } from "@codemirror/state";
import { EditorView } from "@codemirror/view";
import { basicSetup } from "codemirror";
import { useEffect, useRef, useState } from "preact/hooks";
import {
  api,
  type Diagnostic,
  diagnosticsOf,
  type HandlerVersionView,
  type TestRunResponse,
} from "../api.ts";
import { indexTypes, typeCompletions } from "./types.ts";

const TEMPLATE = `import type { Log } from "@weir/core";

export function handler(data: unknown, log: Log) {
  log.info("received");
  return data;
}
`;

/** The API's line and column are 1-based (column 0: the whole line; line 0: the first line). */
function toCm(doc: Text, d: Diagnostic): CmDiagnostic {
  const line = doc.line(Math.min(Math.max(1, d.line), doc.lines));
  if (d.column <= 0) return { from: line.from, to: line.to, severity: "error", message: d.message };
  const from = Math.min(line.from + d.column - 1, line.to);
  return { from, to: Math.min(line.to, from + 1), severity: "error", message: d.message };
}

/** Two versions side by side, read-only, changes marked. */
function VersionDiff({ id, a, b, onClose }: { id: string; a: number; b: number; onClose: () => void }) {
  const host = useRef<HTMLDivElement>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let view: MergeView | null = null;
    let alive = true;
    Promise.all([api.version(id, a), api.version(id, b)]).then(
      ([va, vb]) => {
        if (!alive) return;
        const ext = [
          basicSetup,
          javascript({ typescript: true }),
          EditorState.readOnly.of(true),
          EditorView.editable.of(false),
        ];
        view = new MergeView({
          parent: host.current!,
          a: { doc: va.source, extensions: ext },
          b: { doc: vb.source, extensions: ext },
          collapseUnchanged: { margin: 3, minSize: 6 },
        });
      },
      (err: Error) => setError(err.message),
    );
    return () => {
      alive = false;
      view?.destroy();
    };
  }, [id, a, b]);
  return (
    <div class="diff" data-testid="diff">
      <div class="toolbar">
        <h3>
          v{a} → v{b}
        </h3>
        <span class="grow" />
        <button type="button" onClick={onClose}>
          Close diff
        </button>
      </div>
      {error && <p class="error">{error}</p>}
      <div ref={host} />
    </div>
  );
}

/** Events as a JSON array, or one JSON value per line. */
export function parseEvents(text: string): unknown[] {
  const t = text.trim();
  if (t === "") throw new Error("paste at least one event");
  if (t.startsWith("[")) {
    const v = JSON.parse(t) as unknown;
    if (Array.isArray(v)) return v;
  }
  return t
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l, i) => {
      try {
        return JSON.parse(l) as unknown;
      } catch (err) {
        throw new Error(`line ${i + 1}: ${(err as Error).message}`);
      }
    });
}

/** Run pasted events through a stored version in the API's sandbox; rows, logs and errors per event. */
function TestPanel({ id, versions }: { id: string; versions: HandlerVersionView[] }) {
  const [events, setEvents] = useState('[{"id": 1}]');
  const [version, setVersion] = useState("");
  const [result, setResult] = useState<TestRunResponse | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [last, setLast] = useState("10");
  const run = async (fromSource = false) => {
    setBusy(true);
    setError(null);
    try {
      const v = version ? Number(version) : undefined;
      setResult(
        fromSource
          ? await api.testRunOnSource(id, Number(last), v)
          : await api.testRun(id, parseEvents(events), v),
      );
    } catch (err) {
      setResult(null);
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <div class="testpanel" data-testid="test-panel">
      <h3>Test</h3>
      <textarea
        aria-label="test events"
        rows={5}
        value={events}
        onInput={(e) => setEvents((e.target as HTMLTextAreaElement).value)}
      />
      <div class="toolbar">
        <select
          value={version}
          aria-label="test version"
          onChange={(e) => setVersion((e.target as HTMLSelectElement).value)}
        >
          <option value="">current version</option>
          {versions.map((v) => (
            <option key={v.id} value={v.version}>
              v{v.version}
            </option>
          ))}
        </select>
        <button type="button" disabled={busy || versions.length === 0} onClick={() => run()}>
          Run
        </button>
        <span class="muted small">or the newest</span>
        <input
          type="number"
          min={1}
          max={100}
          value={last}
          aria-label="source messages"
          style={{ width: "4.5em" }}
          onInput={(e) => setLast((e.target as HTMLInputElement).value)}
        />
        <button type="button" disabled={busy || versions.length === 0} onClick={() => run(true)}>
          Run on source messages
        </button>
      </div>
      {error && <p class="error">{error}</p>}
      {result && (
        <ol class="results" start={0} data-testid="test-results">
          {result.results.map((r) => (
            <li key={r.index} class={r.ok ? "ok" : "failed"} data-ok={String(r.ok)}>
              <span class="small muted">
                {r.source ? `partition ${r.source.partition} offset ${r.source.offset} · ` : ""}v
                {result.version} · {r.duration_ms.toFixed(1)} ms · {r.row_count} row
                {r.row_count === 1 ? "" : "s"}
              </span>
              {r.error && (
                <pre class="error">
                  {r.error.code}: {r.error.message}
                  {r.error.stack ? `\n${r.error.stack}` : ""}
                </pre>
              )}
              {r.rows.length > 0 && <pre class="rows">{r.rows.map((x) => JSON.stringify(x)).join("\n")}</pre>}
              {r.logs.map((l) => (
                <div class={`small lvl-${l.level}`} key={`${l.time}-${l.message}`}>
                  {l.level} {l.message} {l.fields ? JSON.stringify(l.fields) : ""}
                </div>
              ))}
            </li>
          ))}
        </ol>
      )}
    </div>
  );
}

export function HandlerView({ id }: { id: string }) {
  const host = useRef<HTMLDivElement>(null);
  const view = useRef<EditorView | null>(null);
  const [versions, setVersions] = useState<HandlerVersionView[]>([]);
  const [shown, setShown] = useState<number | null>(null);
  const [filename, setFilename] = useState("handler.ts");
  const [diags, setDiags] = useState<Diagnostic[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [compare, setCompare] = useState<number[]>([]);
  const [diff, setDiff] = useState<[number, number] | null>(null);
  const [types, setTypes] = useState<string | null>(null);
  const [showTypes, setShowTypes] = useState(false);
  const completions = useRef(new Compartment());

  const setSource = (source: string) => {
    const v = view.current;
    if (!v) return;
    v.dispatch({ changes: { from: 0, to: v.state.doc.length, insert: source } });
    v.dispatch(setDiagnostics(v.state, []));
    setDiags([]);
  };

  const loadVersions = async () => {
    const list = (await api.versions(id)).items;
    setVersions(list);
    return list;
  };

  const open = async (version: number) => {
    const v = await api.version(id, version);
    setShown(v.version);
    setFilename(v.filename.split("/").pop() ?? "handler.ts");
    setSource(v.source);
  };

  useEffect(() => {
    const v = new EditorView({
      parent: host.current!,
      doc: "",
      extensions: [
        basicSetup,
        javascript({ typescript: true }),
        lintGutter(),
        EditorView.lineWrapping,
        completions.current.of([]),
      ],
    });
    view.current = v;
    // Completions from the API's handler types (Log, hash, base64, OTLP types...).
    api.handlerTypes().then(
      (dts) => {
        setTypes(dts);
        const index = indexTypes(dts);
        v.dispatch({
          effects: completions.current.reconfigure(
            javascriptLanguage.data.of({ autocomplete: typeCompletions(index) }),
          ),
        });
      },
      () => {},
    );
    (async () => {
      try {
        const list = await loadVersions();
        const current = list.find((x) => x.current) ?? list[0];
        if (current) await open(current.version);
        else setSource(TEMPLATE);
      } catch (err) {
        setError((err as Error).message);
      }
    })();
    return () => v.destroy();
  }, []);

  const upload = async () => {
    const v = view.current;
    if (!v) return;
    setBusy(true);
    setError(null);
    setNotice(null);
    try {
      const stored = await api.upload(id, v.state.doc.toString(), filename);
      v.dispatch(setDiagnostics(v.state, []));
      setDiags([]);
      setShown(stored.version);
      setNotice(`stored version ${stored.version}; workers switch to it within seconds`);
      await loadVersions();
    } catch (err) {
      const d = diagnosticsOf(err);
      setDiags(d);
      v.dispatch(
        setDiagnostics(
          v.state,
          d.map((x) => toCm(v.state.doc, x)),
        ),
      );
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };

  const rollback = async (version: number) => {
    if (!confirm(`Make version ${version} the pipeline's handler?`)) return;
    setBusy(true);
    try {
      await api.rollback(id, version);
      setNotice(`rolled back to version ${version}`);
      await loadVersions();
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };

  const jump = (d: Diagnostic) => {
    const v = view.current;
    if (!v) return;
    const c = toCm(v.state.doc, d);
    v.dispatch({ selection: { anchor: c.from }, scrollIntoView: true });
    v.focus();
  };

  return (
    <section data-testid="handler" class="handler">
      <div class="editor-pane">
        <div class="toolbar">
          <h2>Handler</h2>
          <input
            aria-label="file name"
            value={filename}
            onInput={(e) => setFilename((e.target as HTMLInputElement).value)}
          />
          <span class="muted small">{shown ? `editing from version ${shown}` : "new handler"}</span>
          <span class="grow" />
          <button type="button" disabled={types === null} onClick={() => setShowTypes(!showTypes)}>
            {showTypes ? "Hide types" : "Types"}
          </button>
          <button type="button" class="primary" disabled={busy} onClick={upload} data-testid="upload">
            Upload
          </button>
        </div>
        {showTypes && types && (
          <pre class="types" data-testid="types">
            {types}
          </pre>
        )}
        <div class="editor" ref={host} data-testid="editor" />
        {error && <p class="error">{error}</p>}
        {diags.length > 0 && (
          <ul class="diagnostics" data-testid="diagnostics">
            {diags.map((d) => (
              <li key={`${d.line}:${d.column}:${d.message}`}>
                <button type="button" class="link" onClick={() => jump(d)} data-line={d.line}>
                  line {d.line}, column {d.column}
                </button>
                : {d.message}
              </li>
            ))}
          </ul>
        )}
        {notice && (
          <p class="notice" data-testid="handler-notice">
            {notice}
          </p>
        )}
        {diff && (
          <VersionDiff id={id} a={diff[0]} b={diff[1]} key={diff.join("-")} onClose={() => setDiff(null)} />
        )}
      </div>
      <aside class="versions" data-testid="versions">
        <h3>Versions</h3>
        {versions.length === 0 && <p class="muted">none yet</p>}
        <ul>
          {versions.map((v) => (
            <li key={v.id} class={v.current ? "current" : ""}>
              <input
                type="checkbox"
                aria-label={`compare v${v.version}`}
                checked={compare.includes(v.version)}
                onChange={() =>
                  setCompare((c) =>
                    c.includes(v.version) ? c.filter((x) => x !== v.version) : [...c, v.version].slice(-2),
                  )
                }
              />{" "}
              <button type="button" class="link" onClick={() => open(v.version)}>
                v{v.version}
              </button>{" "}
              <span class="muted small">
                {v.filename} · {new Date(v.created_at).toLocaleString()} · {v.sha256.slice(0, 8)}
              </span>
              {v.current ? (
                <span class="state state-running">current</span>
              ) : (
                <button type="button" class="small" disabled={busy} onClick={() => rollback(v.version)}>
                  rollback
                </button>
              )}
            </li>
          ))}
        </ul>
        <button
          type="button"
          disabled={compare.length !== 2}
          onClick={() => {
            const [x, y] = [...compare].sort((m, n) => m - n) as [number, number];
            setDiff([x, y]);
          }}
        >
          Diff selected
        </button>
        <TestPanel id={id} versions={versions} />
      </aside>
    </section>
  );
}
