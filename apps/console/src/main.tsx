/**
 * The console's shell: sign-in (a token kept in session storage), hash routes, navigation.
 *   #/                      pipelines
 *   #/p/<id>                one pipeline: status, counters, lag, charts
 *   #/p/<id>/logs           live tail
 *   #/p/<id>/dlq            dead letters
 *   #/p/<id>/handler        handler editor and versions
 * A link `/ui/#token=<token>` signs in directly (the token is removed from the address at once).
 */
import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import { api, session, setUnauthorizedHandler } from "./api.ts";
import "./style.css";
import { DlqView } from "./views/dlq.tsx";
import { LogsView } from "./views/logs.tsx";
import { PipelineDetail } from "./views/pipeline.tsx";
import { PipelinesView } from "./views/pipelines.tsx";

function takeTokenFromHash(): void {
  const m = /^#token=([^&]+)/.exec(location.hash);
  if (!m?.[1]) return;
  session.set(decodeURIComponent(m[1]));
  history.replaceState(null, "", `${location.pathname}#/`);
}

function useHash(): string {
  const [hash, setHash] = useState(location.hash || "#/");
  useEffect(() => {
    const on = () => setHash(location.hash || "#/");
    addEventListener("hashchange", on);
    return () => removeEventListener("hashchange", on);
  }, []);
  return hash;
}

type HandlerViewType = typeof import("./views/handler.tsx").HandlerView;

/** The editor (CodeMirror) is most of the bundle: loaded on first use of the handler view. */
function LazyHandler({ id }: { id: string }) {
  const [View, setView] = useState<HandlerViewType | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    import("./views/handler.tsx").then(
      (m) => setView(() => m.HandlerView),
      (err: Error) => setError(err.message),
    );
  }, []);
  if (error) return <p class="error">{error}</p>;
  return View ? <View id={id} /> : <p class="muted">Loading the editor...</p>;
}

function SignIn({ onSignedIn }: { onSignedIn: () => void }) {
  const [token, setToken] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    session.set(token.trim());
    try {
      await api.pipelines();
      onSignedIn();
    } catch (err) {
      session.clear();
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <main class="signin">
      <h1>Weir</h1>
      <form onSubmit={submit} data-testid="signin">
        <label>
          API token
          <input
            type="password"
            name="token"
            autoComplete="off"
            value={token}
            onInput={(e) => setToken((e.target as HTMLInputElement).value)}
            placeholder="admin, project or pipeline token"
          />
        </label>
        <button type="submit" disabled={busy || token.trim() === ""}>
          Sign in
        </button>
        {error && <p class="error">{error}</p>}
        <p class="muted">The token stays in this tab's session storage.</p>
      </form>
    </main>
  );
}

function App() {
  const [signedIn, setSignedIn] = useState(() => {
    takeTokenFromHash();
    return session.token !== null;
  });
  const hash = useHash();
  const [names, setNames] = useState(new Map<string, string>());
  const current = /^#\/p\/([^/?]+)/.exec(hash)?.[1];
  // The pipeline's name for the navigation bar (the address holds its id).
  useEffect(() => {
    const pid = current ? decodeURIComponent(current) : null;
    if (!signedIn || !pid || names.has(pid)) return;
    api.pipeline(pid).then(
      (p) => setNames((m) => new Map(m).set(pid, p.name)),
      () => {},
    );
  }, [current, signedIn, names]);
  useEffect(() => {
    setUnauthorizedHandler(() => {
      session.clear();
      setSignedIn(false);
    });
  }, []);
  if (!signedIn) return <SignIn onSignedIn={() => setSignedIn(true)} />;

  const m = /^#\/p\/([^/]+)(?:\/(logs|dlq|handler))?/.exec(hash);
  const id = m?.[1] ? decodeURIComponent(m[1]) : null;
  const tab = m?.[2] ?? "overview";
  let view = <PipelinesView />;
  if (id) {
    view =
      tab === "logs" ? (
        <LogsView id={id} key={`l${id}`} />
      ) : tab === "dlq" ? (
        <DlqView id={id} key={`d${id}`} />
      ) : tab === "handler" ? (
        <LazyHandler id={id} key={`h${id}`} />
      ) : (
        <PipelineDetail id={id} key={`p${id}`} />
      );
  }
  const base = id ? `#/p/${encodeURIComponent(id)}` : "";
  const label = id && names.get(id);
  return (
    <>
      <header class="top">
        <a href="#/" class="brand">
          Weir
        </a>
        <nav>
          <a href="#/" class={id ? "" : "active"}>
            Pipelines
          </a>
          {id && (
            <>
              <span class="sep">/</span>
              <a href={base} class={tab === "overview" ? "active" : ""} data-testid="nav-pipeline">
                {label || id}
              </a>
              <a href={`${base}/logs`} class={tab === "logs" ? "active" : ""}>
                Logs
              </a>
              <a href={`${base}/dlq`} class={tab === "dlq" ? "active" : ""}>
                Dead letters
              </a>
              <a href={`${base}/handler`} class={tab === "handler" ? "active" : ""}>
                Handler
              </a>
            </>
          )}
        </nav>
        <button
          type="button"
          class="link"
          onClick={() => {
            session.clear();
            setSignedIn(false);
          }}
        >
          Sign out
        </button>
      </header>
      <main>{view}</main>
    </>
  );
}

render(<App />, document.getElementById("app")!);
