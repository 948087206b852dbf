// The window: header with the two views, the demo banner, the current view, a status bar, toasts
// and the screen-reader live region. Holds the latest snapshot (pulled once, then pushed by the
// backend's `snapshot` event) and each server's capabilities.

import { useCallback, useEffect, useRef, useState } from "preact/hooks";

import type { Capabilities } from "./bindings/Capabilities";
import type { ErrorInfo } from "./bindings/ErrorInfo";
import type { FileEntry } from "./bindings/FileEntry";
import type { Snapshot } from "./bindings/Snapshot";
import { ClockProvider, useNow } from "./clock";
import { ErrorNote, FeedbackContext, LiveRegion, Toasts, useToasts } from "./feedback";
import { Icon } from "./icons";
import * as ipc from "./ipc";
import { LocksView, type FocusRequest } from "./locks";
import { ServersView } from "./servers";
import { freedFiles, rowKey } from "./table";
import { baseName, displaySafe, formatAgo, formatClock, formatFull, parseTime } from "./text";

type View = "locks" | "servers";

/** Capabilities that failed to load are asked for again after this long. */
const CAPS_RETRY_MS = 60_000;

export function App() {
  return (
    <ClockProvider>
      <Window />
    </ClockProvider>
  );
}

function Window() {
  const [snap, setSnapState] = useState<Snapshot | null>(null);
  const [loadError, setLoadError] = useState<ErrorInfo | null>(null);
  const [caps, setCaps] = useState<ReadonlyMap<string, Capabilities>>(new Map());
  const [view, setView] = useState<View>("locks");
  const [startNewServer, setStartNewServer] = useState(false);
  const [focus, setFocus] = useState<FocusRequest | null>(null);
  const { toasts, dismiss, feedback, announcement } = useToasts();
  const snapRef = useRef<Snapshot | null>(null);
  const capsAsked = useRef(new Map<string, number>());
  const focusSeq = useRef(0);

  const setSnap = useCallback(
    (next: Snapshot) => {
      const freed = freedFiles(snapRef.current, next);
      if (freed.length > 0) {
        feedback.announce(freed.map((f) => `${displaySafe(baseName(f.path))} is free`).join(". "));
      }
      snapRef.current = next;
      setSnapState(next);
    },
    // feedback.announce only sets state; its identity does not matter.
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [],
  );

  const reload = useCallback(async () => {
    try {
      setSnap(await ipc.snapshot());
      setLoadError(null);
    } catch (raw) {
      const e = ipc.IpcError.from(raw);
      setLoadError({ kind: e.kind, message: e.message });
    }
  }, [setSnap]);

  useEffect(() => {
    let alive = true;
    // The shell keeps a file to reveal until it is taken: asked after every `focus-file` event, and
    // once the listener is in place, for the file this window was opened for.
    const takeFocus = async () => {
      try {
        const f = await ipc.takeFocus();
        if (!alive || !f) return;
        setView("locks");
        setFocus({ ...f, seq: ++focusSeq.current });
      } catch {
        // Nothing to reveal then; the table itself is unaffected.
      }
    };
    const unlisteners: Promise<ipc.UnlistenFn>[] = [
      ipc.onSnapshot((s) => alive && setSnap(s)),
      ipc.onFocusFile(() => void takeFocus()),
    ];
    // Read the latest snapshot and the file to reveal once the listeners are in place, so nothing the
    // shell sends in between is missed (a window opened from the tray starts while the app is watching).
    void unlisteners[0]?.then(reload, reload);
    void unlisteners[1]?.then(takeFocus, takeFocus);
    return () => {
      alive = false;
      for (const u of unlisteners) void u.then((fn) => fn()).catch(() => {});
    };
  }, [reload, setSnap]);

  // Ask each server once what it supports (force unlock, ask channels, shared locks).
  useEffect(() => {
    if (!snap) return;
    const now = Date.now();
    for (const s of snap.servers) {
      if (caps.has(s.name)) continue;
      const asked = capsAsked.current.get(s.name);
      if (asked !== undefined && now - asked < CAPS_RETRY_MS) continue;
      capsAsked.current.set(s.name, now);
      ipc
        .capabilities(s.name)
        .then((c) => setCaps((m) => new Map(m).set(s.name, c)))
        .catch(() => {
          // Without capabilities the row simply offers fewer actions; the server's own health
          // line already explains what is wrong.
        });
    }
  }, [snap, caps]);

  const updateFile = useCallback(
    (file: FileEntry) => {
      const cur = snapRef.current;
      if (!cur) return;
      const key = rowKey(file);
      setSnap({ ...cur, files: cur.files.map((f) => (rowKey(f) === key ? file : f)) });
    },
    [setSnap],
  );

  const refresh = useCallback(async () => {
    try {
      setSnap(await ipc.refreshNow());
    } catch (e) {
      feedback.failed(e);
    }
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [setSnap]);

  const togglePaused = async () => {
    const cur = snapRef.current;
    if (!cur) return;
    const paused = !cur.paused;
    setSnap({ ...cur, paused });
    try {
      await ipc.setPaused(paused);
      feedback.announce(paused ? "Checking paused" : "Checking resumed");
    } catch (e) {
      const latest = snapRef.current;
      if (latest) setSnap({ ...latest, paused: !paused });
      feedback.failed(e);
    }
  };

  const leaveDemo = async () => {
    try {
      await ipc.exitDemo();
      setView("servers");
      setStartNewServer(true);
      await reload();
    } catch (e) {
      feedback.failed(e);
    }
  };

  const enterDemo = async () => {
    try {
      await ipc.enterDemo();
      await reload();
    } catch (e) {
      feedback.failed(e);
    }
  };

  // Ctrl+R / F5 would reload the webview; make them "check now" instead.
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.key === "F5" || ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === "r")) {
        e.preventDefault();
        void refresh();
      }
    };
    document.addEventListener("keydown", onKey);
    return () => document.removeEventListener("keydown", onKey);
  }, [refresh]);

  return (
    <FeedbackContext.Provider value={feedback}>
      <div class="window">
        <header class="titlebar">
          <div class="brand">
            <Icon name="lock" class="brand-icon" />
            <span>Lockwatch</span>
          </div>
          <div
            class="tabs"
            role="tablist"
            aria-label="Views"
            onKeyDown={(e) => {
              if (e.key !== "ArrowLeft" && e.key !== "ArrowRight") return;
              e.preventDefault();
              const next: View = view === "locks" ? "servers" : "locks";
              setView(next);
              document.getElementById(`tab-${next}`)?.focus();
            }}
          >
            <button
              type="button"
              role="tab"
              id="tab-locks"
              aria-selected={view === "locks"}
              aria-controls="panel"
              tabIndex={view === "locks" ? 0 : -1}
              onClick={() => setView("locks")}
            >
              Locks
            </button>
            <button
              type="button"
              role="tab"
              id="tab-servers"
              aria-selected={view === "servers"}
              aria-controls="panel"
              tabIndex={view === "servers" ? 0 : -1}
              onClick={() => setView("servers")}
            >
              Servers
              {snap && snap.servers.some((s) => !s.ok) && (
                <span class="tab-alert" aria-label="(a server has a problem)">
                  !
                </span>
              )}
            </button>
          </div>
          <span class="spacer" />
          {snap && (
            <>
              <button
                type="button"
                class="toggle"
                aria-pressed={snap.paused}
                title={snap.paused ? "Resume checking the servers" : "Stop checking the servers for now"}
                onClick={() => void togglePaused()}
              >
                <Icon name={snap.paused ? "play" : "pause"} />
                {snap.paused ? "Resume" : "Pause"}
              </button>
              <button type="button" onClick={() => void refresh()} title="Check all servers now (Ctrl+R)">
                <Icon name="refresh" /> Check now
              </button>
            </>
          )}
        </header>

        {snap?.demo && (
          <div class="banner banner-demo" role="note">
            <Icon name="user" />
            <span>
              <strong>This is a demo server with simulated colleagues.</strong> Their locks come and go on their own,
              so every action is safe to try.
            </span>
            <button type="button" class="primary small" onClick={() => void leaveDemo()}>
              Add your server
            </button>
          </div>
        )}
        {snap?.paused && (
          <div class="banner banner-paused" role="note">
            <Icon name="pause" />
            <span>Checking is paused. What you see may be out of date and no notifications arrive.</span>
            <button type="button" class="small" onClick={() => void togglePaused()}>
              Resume
            </button>
          </div>
        )}

        <main id="panel" class="panel" role="tabpanel" aria-labelledby={view === "locks" ? "tab-locks" : "tab-servers"}>
          {loadError && !snap && (
            <div class="empty-state">
              <ErrorNote error={loadError} />
              <div class="empty-actions">
                <button type="button" onClick={() => void reload()}>
                  Try again
                </button>
              </div>
            </div>
          )}
          {!snap && !loadError && <p class="loading">Loading…</p>}
          {snap && view === "locks" && (
            <LocksView
              snap={snap}
              caps={caps}
              onFile={updateFile}
              focus={focus}
              onEnterDemo={() => void enterDemo()}
              onOpenServers={(addNew) => {
                setView("servers");
                setStartNewServer(addNew);
              }}
            />
          )}
          {view === "servers" && (
            <ServersView
              snap={snap}
              startNew={startNewServer}
              onStartedNew={() => setStartNewServer(false)}
              onChanged={() => void reload()}
              onLeaveDemo={() => void leaveDemo()}
            />
          )}
        </main>

        {snap && <StatusBar snap={snap} />}
        <Toasts toasts={toasts} dismiss={dismiss} />
        <LiveRegion text={announcement} />
      </div>
    </FeedbackContext.Provider>
  );
}

function StatusBar({ snap }: { snap: Snapshot }) {
  const now = useNow();
  const at = parseTime(snap.generated_at);
  const locked = snap.files.filter((f) => f.state === "locked").length;
  const wanted = snap.files.filter((f) => f.wanted).length;
  const failing = snap.servers.filter((s) => !s.ok).length;
  return (
    <footer class="statusbar">
      <span title={at != null ? formatFull(at) : undefined}>
        {at != null ? `Updated ${formatClock(at, now)} (${formatAgo(at, now)})` : "Not updated yet"}
      </span>
      <span>
        {snap.files.length} {snap.files.length === 1 ? "file" : "files"} · {locked} locked · {wanted} wanted
      </span>
      <span>
        {snap.servers.length} {snap.servers.length === 1 ? "server" : "servers"}
        {failing > 0 ? ` · ${failing} with problems` : ""}
      </span>
      {snap.paused && <span class="status-paused">Paused</span>}
    </footer>
  );
}
