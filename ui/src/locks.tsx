// The lock table: who holds which file, until when, and what you can do about it.
//
// Rows are `FileEntry`s from the latest snapshot. The table owns only view state (filter, sort,
// grouping, which row has focus, which menu or dialog is open); everything it shows comes from the
// snapshot and every change goes through `ipc`. Keyboard: one row is in the Tab order at a time
// (roving tabindex); arrows move it, Enter opens that row's action menu.
//
// A watch list can hold tens of thousands of files, so the table renders only the rows near the
// scroll viewport (plus the focused row and the row a menu or dialog belongs to); spacer rows keep
// the scrollbar true, and aria-rowcount / aria-rowindex tell assistive technology the real size.
// Rows are as tall as the styles make them (one line per lock); heights are measured once rendered,
// and a row never rendered is assumed as tall as the last measured row of its shape.

import type { ComponentChildren, VNode } from "preact";
import { useEffect, useLayoutEffect, useMemo, useRef, useState } from "preact/hooks";

import { AskDialog, ForceUnlockDialog, HistoryDialog } from "./actions";
import type { ActionReport } from "./bindings/ActionReport";
import type { Capabilities } from "./bindings/Capabilities";
import type { ErrorInfo } from "./bindings/ErrorInfo";
import type { FileEntry } from "./bindings/FileEntry";
import type { FileState } from "./bindings/FileState";
import type { Lock } from "./bindings/Lock";
import type { ServerHealth as ServerHealthInfo } from "./bindings/ServerHealth";
import type { Snapshot } from "./bindings/Snapshot";
import { useNow } from "./clock";
import { isMine } from "./features";
import { ErrorNote, useFeedback } from "./feedback";
import { Icon, type IconName } from "./icons";
import * as ipc from "./ipc";
import {
  countByState,
  filterFiles,
  freedFiles,
  groupFiles,
  rowKey,
  rowOffsets,
  rowsInBand,
  scrollToShow,
  sortFiles,
  type Filter,
  type Group,
  type Sort,
  type SortKey,
} from "./table";
import {
  baseName,
  dirName,
  displaySafe,
  formatAgo,
  formatClock,
  formatExpiry,
  formatFull,
  formatRetry,
  holderKnown,
  LOCK_KIND_HELP,
  LOCK_KIND_LABEL,
  lockHolderName,
  parseTime,
  SERVER_KIND_LABEL,
  STATE_LABEL,
  WOPI_HOLDER_NOTE,
} from "./text";

export interface FocusRequest {
  server: string;
  path: string;
  /** Why the row is revealed: an action taken outside the window failed (a notification's "Lock it now"). */
  problem: ErrorInfo | null;
  /** Changes on every request, so the same file can be revealed twice. */
  seq: number;
}

export interface LocksViewProps {
  snap: Snapshot;
  caps: ReadonlyMap<string, Capabilities>;
  /** Replace one file in the current snapshot (after an action or an optimistic toggle). */
  onFile: (file: FileEntry) => void;
  onOpenServers: (addNew: boolean) => void;
  onEnterDemo: () => void;
  focus: FocusRequest | null;
}

const COLUMNS: { key: SortKey; label: string; cls: string }[] = [
  { key: "file", label: "File", cls: "col-file" },
  { key: "server", label: "Server", cls: "col-server" },
  { key: "state", label: "State", cls: "col-state" },
  { key: "holder", label: "Holder", cls: "col-holder" },
  { key: "editor", label: "Editor", cls: "col-editor" },
  { key: "type", label: "Lock type", cls: "col-type" },
  { key: "taken", label: "Taken", cls: "col-taken" },
  { key: "expires", label: "Expires", cls: "col-expires" },
];

const STATE_CHIPS: FileState[] = ["locked", "unlocked", "unsupported", "error"];
const STATE_ICON: Record<FileState, IconName> = {
  locked: "lock",
  unlocked: "unlock",
  unsupported: "shield",
  error: "alert",
};

export const SHORTCUTS: [string, string][] = [
  ["↑ ↓", "Move between rows"],
  ["PgUp PgDn", "Move a page up / down"],
  ["Home End", "First / last row"],
  ["Enter", "Open the row's actions"],
  ["← →", "Collapse / expand a server group"],
  ["W", "Tell me when the file is free (toggle)"],
  ["L", "Lock the file"],
  ["U", "Unlock your lock"],
  ["H", "Show the file's history"],
  ["/", "Filter"],
  ["Ctrl R", "Check all servers now"],
  ["?", "This help"],
  ["Esc", "Close a menu, dialog or this help"],
];

/** One `<tr>` of the table body, in display order. */
type TableRow =
  | { kind: "group"; key: string; server: string; group: Group; later: boolean }
  | { kind: "banner"; key: string; server: string; status: ServerHealthInfo }
  | { kind: "file"; key: string; server: string; file: FileEntry }
  | { kind: "error"; key: string; server: string; file: FileEntry; error: ErrorInfo }
  | { kind: "empty"; key: string; server: string; group: Group };

/** The rows keyboard navigation moves between. */
type NavRow = Extract<TableRow, { kind: "group" | "file" }>;

// Row heights in pixels before anything is measured: what styles.css gives a one-line row (4 px
// padding twice, a 19 px line, a 1 px rule; the action buttons make it 29), a group header, and one
// extra line per further lock.
const LINE_HEIGHT = 19;
const ESTIMATE: Record<TableRow["kind"], number> = { file: 29, group: 31, banner: 33, error: 33, empty: 36 };
/** Rows rendered beyond each edge of the viewport, so a short scroll or a key press finds them there. */
export const OVERSCAN = 8;
/** The viewport height assumed where nothing is laid out (jsdom) and before the first measurement. */
export const FALLBACK_VIEWPORT = 600;
const FALLBACK_HEAD = 27;

/** The text lines of a file row: one per lock, at least one. */
function linesOf(f: FileEntry): number {
  return f.error || (f.state === "unsupported" && f.locks.length === 0) ? 1 : Math.max(1, f.locks.length);
}

/** Rows of one shape are equally tall; banners, notes and errors wrap, so only they differ per row. */
function shapeOf(row: TableRow): string {
  switch (row.kind) {
    case "group":
      return row.later ? "group+" : "group";
    case "file":
      return `file${linesOf(row.file)}`;
    default:
      return row.kind;
  }
}

function estimate(row: TableRow): number {
  if (row.kind === "group") return ESTIMATE.group + (row.later ? 1 : 0);
  if (row.kind === "file") return ESTIMATE.file + LINE_HEIGHT * (linesOf(row.file) - 1);
  return ESTIMATE[row.kind];
}

type FocusAlign = "nearest" | "center";

type DialogState =
  | { kind: "force"; file: FileEntry; caps: Capabilities }
  | { kind: "ask"; file: FileEntry; lock: Lock }
  | { kind: "history"; file: FileEntry };

interface MenuItem {
  id: string;
  label: string;
  icon: IconName;
  danger?: boolean;
  disabledReason?: string;
  run: () => void;
}

const groupKey = (server: string) => `group\u0000${server}`;
const isNav = (r: TableRow): r is NavRow => r.kind === "group" || r.kind === "file";

const isTyping = (t: EventTarget | null) =>
  t instanceof HTMLElement && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName));

export function LocksView(props: LocksViewProps) {
  const { snap, caps, onFile, focus } = props;
  const feedback = useFeedback();
  const [text, setText] = useState("");
  const [states, setStates] = useState<ReadonlySet<FileState>>(new Set());
  const [grouped, setGrouped] = useState(true);
  const [collapsed, setCollapsed] = useState<ReadonlySet<string>>(new Set());
  const [sort, setSort] = useState<Sort>({ key: "state", dir: "ascending" });
  const [activeKey, setActiveKey] = useState<string | null>(null);
  const [menu, setMenu] = useState<{ key: string; anchor: DOMRect } | null>(null);
  const [dialog, setDialog] = useState<DialogState | null>(null);
  const [helpOpen, setHelpOpen] = useState(false);
  const [flashKey, setFlashKey] = useState<string | null>(null);
  // The last failed action of each row, shown under that row until the next try, a dismiss, or the file
  // becoming free.
  const [rowErrors, setRowErrors] = useState<ReadonlyMap<string, ErrorInfo>>(new Map());
  const tableRef = useRef<HTMLTableElement>(null);
  const scrollRef = useRef<HTMLDivElement>(null);
  const searchRef = useRef<HTMLInputElement>(null);
  const pendingFocus = useRef<{ key: string; align: FocusAlign } | null>(null);
  // The scroll position is read on every scroll event, but the table re-renders only when the window
  // of rendered rows moves.
  const scrollTop = useRef(0);
  const [, setWindowMoves] = useState(0);
  const [viewport, setViewport] = useState({ height: FALLBACK_VIEWPORT, head: FALLBACK_HEAD });
  // Measured heights: per shape (every row of it), and per row where one differs from its shape.
  const heights = useRef({ byShape: new Map<string, number>(), byKey: new Map<string, { shape: string; px: number }>() });
  const [measured, setMeasured] = useState(0);

  const filter: Filter = useMemo(() => ({ text, states }), [text, states]);
  const visible = useMemo(() => sortFiles(filterFiles(snap.files, filter), sort), [snap.files, filter, sort]);
  const groups = useMemo(() => groupFiles(snap.files, visible, snap.servers), [snap.files, visible, snap.servers]);
  const counts = useMemo(() => countByState(snap.files), [snap.files]);
  const filtering = text.trim() !== "" || states.size > 0;
  const failing = snap.servers.filter((s) => !s.ok);
  const noServers = snap.servers.length === 0 && snap.files.length === 0;

  const rows: TableRow[] = useMemo(() => {
    const out: TableRow[] = [];
    const addFile = (file: FileEntry) => {
      const key = rowKey(file);
      out.push({ kind: "file", key, server: file.server, file });
      const error = rowErrors.get(key);
      if (error) out.push({ kind: "error", key: `error\u0000${key}`, server: file.server, file, error });
    };
    if (!grouped) {
      for (const file of visible) addFile(file);
      return out;
    }
    groups.forEach((group, i) => {
      const server = group.server;
      out.push({ kind: "group", key: groupKey(server), server, group, later: i > 0 });
      if (collapsed.has(server)) return;
      if (group.status && !group.status.ok) {
        out.push({ kind: "banner", key: `banner\u0000${server}`, server, status: group.status });
      }
      for (const file of group.files) addFile(file);
      if (group.files.length === 0) out.push({ kind: "empty", key: `empty\u0000${server}`, server, group });
    });
    return out;
  }, [grouped, visible, groups, collapsed, rowErrors]);

  const { nav, navIndex, rowIndex } = useMemo(() => {
    const rowIndex = new Map<string, number>();
    rows.forEach((r, i) => rowIndex.set(r.key, i));
    const nav = rows.filter(isNav);
    const navIndex = new Map<string, number>();
    nav.forEach((r, i) => navIndex.set(r.key, i));
    return { nav, navIndex, rowIndex };
  }, [rows]);

  const tabKey = activeKey != null && navIndex.has(activeKey) ? activeKey : (nav[0]?.key ?? null);

  const heightOf = (row: TableRow) => {
    const shape = shapeOf(row);
    const own = heights.current.byKey.get(row.key);
    return own && own.shape === shape ? own.px : (heights.current.byShape.get(shape) ?? estimate(row));
  };
  // eslint-disable-next-line react-hooks/exhaustive-deps
  const offsets = useMemo(() => rowOffsets(rows.map(heightOf)), [rows, measured]);
  /** The height of the body rows' part of the viewport: below the sticky header. */
  const band = Math.max(0, viewport.height - viewport.head);
  const [first, last] = rowsInBand(offsets, scrollTop.current, band, OVERSCAN);
  const scrolled = (top: number) => {
    scrollTop.current = top;
    const [f, l] = rowsInBand(offsets, top, band, OVERSCAN);
    if (f !== first || l !== last) setWindowMoves((n) => n + 1);
  };

  // Rendered: the window, and wherever it is, the row in the Tab order (so Tab reaches the table and
  // a focused row keeps its focus when scrolled far away) and the row a menu or dialog belongs to.
  const rendered = useMemo(() => {
    const pinned = [tabKey, menu?.key, dialog ? rowKey(dialog.file) : null]
      .map((k) => (k == null ? undefined : rowIndex.get(k)))
      .filter((i): i is number => i !== undefined && (i < first || i >= last));
    const out: number[] = [];
    for (let i = first; i < last; i++) out.push(i);
    return [...new Set(pinned)].concat(out).sort((a, b) => a - b);
  }, [first, last, tabKey, menu?.key, dialog, rowIndex]);

  const elementFor = (key: string | null) =>
    key == null
      ? null
      : ([...(tableRef.current?.querySelectorAll<HTMLElement>("[data-nav]") ?? [])].find(
          (el) => el.dataset.nav === key,
        ) ?? null);

  const moveTo = (key: string | null, align: FocusAlign = "nearest") => {
    if (key == null) return;
    setActiveKey(key);
    pendingFocus.current = { key, align };
  };

  // Follow the viewport's size (window resized, banners above the table come and go).
  useLayoutEffect(() => {
    const el = scrollRef.current;
    if (!el) return;
    const read = () => {
      const height = el.clientHeight || FALLBACK_VIEWPORT;
      const head = el.querySelector("thead")?.getBoundingClientRect().height || FALLBACK_HEAD;
      setViewport((v) => (v.height === height && v.head === head ? v : { height, head }));
    };
    read();
    if (typeof ResizeObserver === "undefined") {
      window.addEventListener("resize", read);
      return () => window.removeEventListener("resize", read);
    }
    const observer = new ResizeObserver(read);
    observer.observe(el);
    return () => observer.disconnect();
  }, [noServers]);

  // Measure the rows just rendered; a row taller or shorter than assumed moves the spacers.
  useLayoutEffect(() => {
    const known = heights.current;
    let changed = false;
    for (const tr of tableRef.current?.querySelectorAll<HTMLElement>("tbody > tr[data-row]") ?? []) {
      const row = rows[Number(tr.dataset.row)];
      const px = tr.getBoundingClientRect().height;
      if (!row || !(px > 0) || Math.abs(px - heightOf(row)) < 0.25) continue;
      const shape = shapeOf(row);
      if (!known.byShape.has(shape) || row.kind === "file" || row.kind === "group") known.byShape.set(shape, px);
      if (Math.abs(px - (known.byShape.get(shape) ?? px)) >= 0.25) known.byKey.set(row.key, { shape, px });
      else known.byKey.delete(row.key);
      changed = true;
    }
    if (changed) setMeasured((m) => m + 1);
  });

  // Focus is moved after render: scroll the target row into view (it is always rendered, see
  // `rendered`), then focus it.
  useLayoutEffect(() => {
    const want = pendingFocus.current;
    const scroller = scrollRef.current;
    if (!want || !scroller) return;
    const i = rowIndex.get(want.key);
    const el = elementFor(want.key);
    if (i === undefined || !el) {
      // Gone (filtered out, group collapsed): nothing to focus; never steal focus later.
      if (i === undefined) pendingFocus.current = null;
      return;
    }
    pendingFocus.current = null;
    const target = scrollToShow(offsets, i, scrollTop.current, band, want.align);
    if (target !== scrollTop.current) scroller.scrollTop = target;
    el.focus({ preventScroll: true });
    // Where layout is real, correct by the row's actual box (its neighbours may not be measured yet).
    const box = scroller.getBoundingClientRect();
    const at = el.getBoundingClientRect();
    if (at.height > 0) {
      const top = box.top + viewport.head;
      const bottom = box.top + scroller.clientHeight;
      if (at.top < top) scroller.scrollTop -= top - at.top;
      else if (at.bottom > bottom) scroller.scrollTop += Math.min(at.bottom - bottom, at.top - top);
    }
    scrolled(scroller.scrollTop);
  });

  // A notification was clicked: make sure the row is visible, then focus and flash it.
  useEffect(() => {
    if (!focus) return;
    const target = snap.files.find((f) => f.server === focus.server && f.path === focus.path);
    if (!target) return;
    if (!filterFiles([target], filter).length) {
      setText("");
      setStates(new Set());
    }
    setCollapsed((c) => {
      if (!c.has(target.server)) return c;
      const next = new Set(c);
      next.delete(target.server);
      return next;
    });
    setMenu(null);
    setDialog(null);
    const key = rowKey(target);
    moveTo(key, "center");
    setFlashKey(key);
    // Shown under the row as a failure of its own buttons is (and read out by the row's live region).
    if (focus.problem) setRowError(key, focus.problem);
    const t = setTimeout(() => setFlashKey(null), 2500);
    return () => clearTimeout(t);
    // Only react to new requests.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [focus?.seq]);

  // Window-wide shortcuts while the table is showing. Read through a ref: effects re-subscribe
  // only after paint, and a key pressed in between must not see stale state.
  const dialogOpen = useRef(false);
  dialogOpen.current = dialog !== null;
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (dialogOpen.current || e.defaultPrevented) return;
      if ((e.key === "/" && !isTyping(e.target)) || (e.key === "f" && (e.ctrlKey || e.metaKey))) {
        e.preventDefault();
        searchRef.current?.focus();
        searchRef.current?.select();
      } else if (e.key === "?" && !isTyping(e.target)) {
        e.preventDefault();
        setHelpOpen((o) => !o);
      } else if (e.key === "Escape") {
        setHelpOpen(false);
      }
    };
    document.addEventListener("keydown", onKey);
    return () => document.removeEventListener("keydown", onKey);
  }, []);

  // A row's error is about the lock as it was: once the file is free again (released, expired, taken
  // and given back), what went wrong no longer holds, and the row stops saying it.
  const lastSnap = useRef<Snapshot | null>(null);
  useEffect(() => {
    const freed = freedFiles(lastSnap.current, snap).map(rowKey);
    lastSnap.current = snap;
    if (freed.length === 0) return;
    setRowErrors((m) => {
      if (!freed.some((key) => m.has(key))) return m;
      const next = new Map(m);
      for (const key of freed) next.delete(key);
      return next;
    });
  }, [snap]);

  const setRowError = (key: string, error: ErrorInfo | null) =>
    setRowErrors((m) => {
      if (!error && !m.has(key)) return m;
      const next = new Map(m);
      if (error) next.set(key, error);
      else next.delete(key);
      return next;
    });

  const failedOn = (key: string, raw: unknown) => {
    const e = ipc.IpcError.from(raw);
    setRowError(key, { kind: e.kind, message: e.message });
    feedback.announce(displaySafe(e.message));
  };

  /** Runs a lock action; the row shows the file as read afterwards, and a failure next to it. */
  const runAction = async (file: FileEntry, work: () => Promise<ActionReport>) => {
    const key = rowKey(file);
    setRowError(key, null);
    try {
      const { outcome, ...after } = await work();
      onFile({ ...after, wanted: file.wanted });
      if (outcome.ok) feedback.done(outcome.message);
      else setRowError(key, outcome.error ?? { kind: "conflict", message: outcome.message });
    } catch (e) {
      failedOn(key, e);
    }
  };

  const toggleWanted = async (file: FileEntry) => {
    const key = rowKey(file);
    const wanted = !file.wanted;
    setRowError(key, null);
    onFile({ ...file, wanted });
    try {
      await ipc.setWanted(file.server, file.path, wanted);
      const name = displaySafe(baseName(file.path));
      feedback.announce(wanted ? `You will be told when ${name} is free` : `No longer watching ${name} for you`);
    } catch (e) {
      onFile({ ...file, wanted: !wanted });
      failedOn(key, e);
    }
  };

  // The row stays the active one, so it stays rendered while the dialog hands focus back to it.
  const closeDialog = () => {
    if (dialog) moveTo(rowKey(dialog.file));
    setDialog(null);
  };

  // A dialog hands focus back to its row (kept rendered while the dialog is open), scrolled into view.
  const returnToRow = (key: string) => () => {
    const el = elementFor(key);
    if (el) moveTo(key);
    return el ?? elementFor(tabKey);
  };


  const actionsFor = (file: FileEntry): MenuItem[] => {
    const cap = caps.get(file.server);
    const mine = file.locks.some(isMine);
    const others = file.locks.filter((l) => !isMine(l));
    const items: MenuItem[] = [];
    if (file.state === "unlocked") {
      items.push({
        id: "lock",
        label: "Lock",
        icon: "lock",
        run: () => void runAction(file, () => ipc.lockFile(file.server, file.path, false)),
      });
      if (cap?.scopes.includes("shared")) {
        items.push({
          id: "lock-shared",
          label: "Lock (shared)",
          icon: "lock",
          run: () => void runAction(file, () => ipc.lockFile(file.server, file.path, true)),
        });
      }
    }
    if (mine) {
      items.push({
        id: "unlock",
        label: "Unlock",
        icon: "unlock",
        run: () => void runAction(file, () => ipc.unlockFile(file.server, file.path)),
      });
    }
    if (file.state === "locked" && others.length > 0) {
      // The engine asks the first other holder (the one a request can reach); the dialog shows the
      // ways to reach them.
      const holder = others[0];
      if (holder && holderKnown(holder)) {
        items.push({
          id: "ask",
          label: others.length > 1 ? `Ask ${lockHolderName(holder)} to release…` : "Ask to release…",
          icon: "message",
          run: () => setDialog({ kind: "ask", file, lock: holder }),
        });
      } else if (others.some((l) => l.kind === "wopi")) {
        items.push({
          id: "ask-wopi",
          label: "Ask to release…",
          icon: "message",
          disabledReason: WOPI_HOLDER_NOTE,
          run: () => {},
        });
      }
      if (cap && cap.can_force_unlock !== "no") {
        items.push({
          id: "force",
          label: "Force unlock…",
          icon: "alert",
          danger: true,
          run: () => setDialog({ kind: "force", file, caps: cap }),
        });
      }
    }
    items.push({
      id: "want",
      label: file.wanted ? "Stop telling me when it is free" : "Tell me when it is free",
      icon: file.wanted ? "bellOn" : "bell",
      run: () => void toggleWanted(file),
    });
    items.push({
      id: "history",
      label: "History…",
      icon: "history",
      run: () => setDialog({ kind: "history", file }),
    });
    return items;
  };

  const openMenu = (key: string) => {
    const row = elementFor(key);
    const button = row?.querySelector<HTMLElement>("[data-menu-button]");
    const anchor = (button ?? row)?.getBoundingClientRect();
    if (anchor) setMenu({ key, anchor });
  };

  const toggleGroup = (server: string, open?: boolean) =>
    setCollapsed((c) => {
      const next = new Set(c);
      const isOpen = !c.has(server);
      if (open ?? !isOpen) next.delete(server);
      else next.add(server);
      return next;
    });

  // A page is what the viewport shows of one-line rows, less one kept for context.
  const pageRows = Math.max(1, Math.floor(band / (heights.current.byShape.get("file1") ?? ESTIMATE.file)) - 1);

  const onTableKey = (e: KeyboardEvent) => {
    const target = e.target as HTMLElement;
    const navEl = target.closest<HTMLElement>("[data-nav]");
    if (!navEl) return;
    const key = navEl.dataset.nav ?? "";
    const index = navIndex.get(key) ?? -1;
    const item = nav[index];
    if (!item) return;
    const onRowItself = target === navEl;
    const go = (i: number) => {
      e.preventDefault();
      moveTo(nav[Math.max(0, Math.min(nav.length - 1, i))]?.key ?? null);
    };
    if (e.altKey || e.ctrlKey || e.metaKey) return;
    switch (e.key) {
      case "ArrowDown":
        return go(index + 1);
      case "ArrowUp":
        return go(index - 1);
      case "Home":
        return go(0);
      case "End":
        return go(nav.length - 1);
      case "PageDown":
        return go(index + pageRows);
      case "PageUp":
        return go(index - pageRows);
    }
    if (!onRowItself) return;
    if (item.kind === "group") {
      if (e.key === "Enter" || e.key === " ") {
        e.preventDefault();
        toggleGroup(item.server);
      } else if (e.key === "ArrowLeft") {
        e.preventDefault();
        toggleGroup(item.server, false);
      } else if (e.key === "ArrowRight") {
        e.preventDefault();
        toggleGroup(item.server, true);
      }
      return;
    }
    const file = item.file;
    const actions = actionsFor(file);
    const run = (id: string) => {
      const a = actions.find((x) => x.id === id && !x.disabledReason);
      e.preventDefault();
      a?.run();
    };
    switch (e.key) {
      case "Enter":
      case "ContextMenu":
        e.preventDefault();
        return openMenu(key);
      case "F10":
        if (e.shiftKey) {
          e.preventDefault();
          openMenu(key);
        }
        return;
      case "ArrowLeft":
        if (grouped) go(nav.findIndex((n) => n.kind === "group" && n.server === file.server));
        return;
      case "w":
      case "W":
        return run("want");
      case "l":
      case "L":
        return run("lock");
      case "u":
      case "U":
        return run("unlock");
      case "h":
      case "H":
        return run("history");
    }
  };

  const onSort = (key: SortKey) =>
    setSort((s) =>
      s.key === key ? { key, dir: s.dir === "ascending" ? "descending" : "ascending" } : { key, dir: "ascending" },
    );

  const toggleState = (state: FileState) =>
    setStates((s) => {
      const next = new Set(s);
      if (next.has(state)) next.delete(state);
      else next.add(state);
      return next;
    });

  const clearFilters = () => {
    setText("");
    setStates(new Set());
  };

  const columns = grouped ? COLUMNS.filter((c) => c.key !== "server") : COLUMNS;
  const colCount = columns.length + 1;

  if (snap.servers.length === 0 && snap.files.length === 0) {
    return (
      <EmptyState icon="server" title="No servers yet">
        <p>
          Lockwatch watches file locks on WebDAV, Nextcloud and WOPI servers and tells you the moment a file you need is
          free. Add a server or explore the demo.
        </p>
        <div class="empty-actions">
          <button type="button" class="primary" onClick={() => props.onOpenServers(true)}>
            <Icon name="plus" /> Add a server
          </button>
          <button type="button" onClick={props.onEnterDemo}>
            Explore the demo
          </button>
        </div>
      </EmptyState>
    );
  }

  const renderRow = (row: TableRow, i: number): VNode => {
    // Row 1 is the header row.
    const at = { index: i, ariaIndex: i + 2 };
    switch (row.kind) {
      case "group": {
        const { group, server } = row;
        return (
          <GroupHeader
            key={row.key}
            {...at}
            server={server}
            status={group.status}
            count={group.files.length}
            total={group.total}
            later={row.later}
            open={!collapsed.has(server)}
            colCount={colCount}
            tabbable={tabKey === row.key}
            generatedAt={snap.generated_at}
            onToggle={() => {
              setActiveKey(row.key);
              toggleGroup(server);
            }}
            onFocus={() => setActiveKey(row.key)}
          />
        );
      }
      case "banner":
        return (
          <tr key={row.key} class="group-banner" data-row={i} aria-rowindex={at.ariaIndex}>
            <td colSpan={colCount}>
              <ServerBanner status={row.status} generatedAt={snap.generated_at} />
            </td>
          </tr>
        );
      case "empty":
        return (
          <tr key={row.key} class="group-empty" data-row={i} aria-rowindex={at.ariaIndex}>
            <td colSpan={colCount}>
              {row.group.total === 0
                ? "Nothing watched on this server yet. Add files or folders to its watch list in Servers."
                : "No files on this server match the filter."}
            </td>
          </tr>
        );
      case "error":
        return (
          <ErrorRow
            key={row.key}
            {...at}
            name={displaySafe(baseName(row.file.path))}
            error={row.error}
            colCount={colCount}
            onDismiss={() => setRowError(rowKey(row.file), null)}
          />
        );
      case "file": {
        const { file, key } = row;
        return (
          <FileRow
            key={key}
            {...at}
            file={file}
            grouped={grouped}
            tabbable={tabKey === key}
            flash={flashKey === key}
            menuOpen={menu?.key === key}
            caps={caps.get(file.server)}
            onFocus={() => setActiveKey(key)}
            onWant={() => void toggleWanted(file)}
            onAction={(id) => actionsFor(file).find((a) => a.id === id)?.run()}
            onMenu={() => openMenu(key)}
          />
        );
      }
    }
  };

  // The rendered rows in their row groups (one <tbody> per server when grouped), with a spacer row
  // standing in for every run of rows not rendered.
  const sections: { key: string; trs: VNode[] }[] = [];
  {
    let next = 0;
    const spacer = (key: string, px: number) => (
      <tr key={key} class="spacer-row" aria-hidden="true">
        <td colSpan={colCount} style={{ height: `${px}px` }} />
      </tr>
    );
    for (const i of rendered) {
      const row = rows[i];
      if (!row) continue;
      const key = grouped ? row.server : "files";
      let section = sections.at(-1);
      if (section?.key !== key) {
        section = { key, trs: [] };
        sections.push(section);
      }
      const gap = (offsets[i] ?? 0) - (offsets[next] ?? 0);
      if (gap > 0) section.trs.push(spacer(`gap\u0000${row.key}`, gap));
      section.trs.push(renderRow(row, i));
      next = i + 1;
    }
    const tail = (offsets[rows.length] ?? 0) - (offsets[next] ?? 0);
    if (tail > 0) sections.at(-1)?.trs.push(spacer("tail", tail));
  }
  const bodies =
    sections.length === 0 ? (
      <tbody />
    ) : (
      sections.map((s) => (
        <tbody key={s.key} class={grouped ? "group" : undefined}>
          {s.trs}
        </tbody>
      ))
    );

  const menuRow = menu ? rows[rowIndex.get(menu.key) ?? -1] : undefined;
  const menuFile = menuRow?.kind === "file" ? menuRow.file : undefined;

  return (
    <div class="locks-view">
      <div class="toolbar" role="toolbar" aria-label="Table options">
        <label class="search">
          <Icon name="search" />
          <input
            ref={searchRef}
            type="search"
            placeholder="Filter by file, person or app"
            aria-label="Filter files"
            value={text}
            onInput={(e) => setText(e.currentTarget.value)}
            onKeyDown={(e) => {
              if (e.key === "Escape" && text) {
                e.stopPropagation();
                setText("");
              } else if (e.key === "ArrowDown" || e.key === "Enter") {
                e.preventDefault();
                moveTo(nav.find((n) => n.kind === "file")?.key ?? nav[0]?.key ?? null);
              }
            }}
          />
        </label>
        <div class="chips" role="group" aria-label="Show only">
          {STATE_CHIPS.map((s) => (
            <button
              key={s}
              type="button"
              class={`chip chip-${s}`}
              aria-pressed={states.has(s)}
              onClick={() => toggleState(s)}
            >
              {STATE_LABEL[s]} <span class="chip-count">{counts[s]}</span>
            </button>
          ))}
        </div>
        <span class="spacer" />
        <button type="button" class="toggle" aria-pressed={grouped} onClick={() => setGrouped((g) => !g)}>
          <Icon name="server" /> Group by server
        </button>
        <div class="help-anchor">
          <button
            type="button"
            class="icon-button"
            aria-label="Keyboard shortcuts"
            aria-expanded={helpOpen}
            aria-controls="shortcut-help"
            onClick={() => setHelpOpen((o) => !o)}
          >
            <Icon name="help" />
          </button>
          {helpOpen && <ShortcutHelp onClose={() => setHelpOpen(false)} />}
        </div>
      </div>

      {!grouped &&
        failing.map((s) => <ServerBanner key={s.name} status={s} generatedAt={snap.generated_at} named />)}

      <div class="table-scroll" ref={scrollRef} onScroll={(e) => scrolled(e.currentTarget.scrollTop)}>
        <table
          ref={tableRef}
          class="lock-table"
          aria-label="Watched files and their locks"
          aria-rowcount={rows.length + 1}
          onKeyDown={onTableKey}
        >
          <colgroup>
            {columns.map((c) => (
              <col key={c.key} class={c.cls} />
            ))}
            <col class="col-actions" />
          </colgroup>
          <thead>
            <tr aria-rowindex={1}>
              {columns.map((c) => (
                <th
                  key={c.key}
                  scope="col"
                  class={c.cls}
                  aria-sort={sort.key === c.key ? sort.dir : undefined}
                >
                  <button type="button" class="sort-button" onClick={() => onSort(c.key)}>
                    {c.label}
                    <span class={`sort-arrow${sort.key === c.key ? " on" : ""}`} aria-hidden="true">
                      {sort.key === c.key && sort.dir === "descending" ? "▾" : "▴"}
                    </span>
                  </button>
                </th>
              ))}
              <th scope="col" class="col-actions">
                <span class="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          {bodies}
        </table>
        {snap.files.length === 0 && (
          <EmptyState icon="folder" title="Nothing watched yet">
            <p>Add the files or folders you care about to a server's watch list, and their locks show up here.</p>
            <div class="empty-actions">
              <button type="button" class="primary" onClick={() => props.onOpenServers(false)}>
                Open Servers
              </button>
            </div>
          </EmptyState>
        )}
        {snap.files.length > 0 && visible.length === 0 && filtering && (
          <EmptyState icon="search" title="No files match">
            <p>
              {text.trim() ? (
                <>
                  Nothing matches “<span class="literal">{displaySafe(text.trim())}</span>”
                  {states.size > 0 ? " in the chosen states" : ""}.
                </>
              ) : (
                "No file is in the chosen states right now."
              )}
            </p>
            <div class="empty-actions">
              <button type="button" onClick={clearFilters}>
                Clear filters
              </button>
            </div>
          </EmptyState>
        )}
      </div>

      {menu && menuFile && (
        <RowMenu
          label={`Actions for ${displaySafe(baseName(menuFile.path))}`}
          anchor={menu.anchor}
          items={actionsFor(menuFile)}
          onClose={(refocus) => {
            const key = menu.key;
            setMenu(null);
            if (refocus) moveTo(key);
          }}
        />
      )}

      {dialog?.kind === "force" && (
        <ForceUnlockDialog
          file={dialog.file}
          caps={dialog.caps}
          onDone={({ outcome, ...after }) => {
            onFile({ ...after, wanted: dialog.file.wanted });
            if (outcome.ok) feedback.done(outcome.message);
            else setRowError(rowKey(dialog.file), outcome.error ?? { kind: "conflict", message: outcome.message });
          }}
          onClose={closeDialog}
          returnFocus={returnToRow(rowKey(dialog.file))}
        />
      )}
      {dialog?.kind === "ask" && (
        <AskDialog
          file={dialog.file}
          lock={dialog.lock}
          onSent={(sentence) => feedback.done(sentence)}
          onClose={closeDialog}
          returnFocus={returnToRow(rowKey(dialog.file))}
        />
      )}
      {dialog?.kind === "history" && (
        <HistoryDialog
          file={dialog.file}
          onClose={closeDialog}
          returnFocus={returnToRow(rowKey(dialog.file))}
        />
      )}
    </div>
  );
}

function EmptyState({ icon, title, children }: { icon: IconName; title: string; children: ComponentChildren }) {
  return (
    <div class="empty-state">
      <Icon name={icon} class="empty-icon" />
      <h2>{title}</h2>
      {children}
    </div>
  );
}

function ShortcutHelp({ onClose }: { onClose: () => void }) {
  return (
    <div id="shortcut-help" class="popover" role="dialog" aria-label="Keyboard shortcuts">
      <div class="popover-head">
        <strong>Keyboard shortcuts</strong>
        <button type="button" class="icon-button" aria-label="Close shortcuts" onClick={onClose}>
          <Icon name="close" />
        </button>
      </div>
      <dl class="shortcuts">
        {SHORTCUTS.map(([keys, what]) => (
          <div key={keys}>
            <dt>
              {keys.split(" ").map((k) => (
                <kbd key={k}>{k}</kbd>
              ))}
            </dt>
            <dd>{what}</dd>
          </div>
        ))}
      </dl>
    </div>
  );
}

export function ServerHealth({ status, generatedAt }: { status: ServerHealthInfo | null; generatedAt: string }) {
  const now = useNow();
  if (!status) return <span class="health health-unknown">not configured</span>;
  if (status.ok) {
    const checked = parseTime(status.checked_at);
    return (
      <span class="health health-ok" title={checked != null ? `Last checked ${formatFull(checked)}` : undefined}>
        <span class="dot" aria-hidden="true" />
        {checked != null ? `OK · checked ${formatAgo(checked, now)}` : "OK"}
      </span>
    );
  }
  const retry = formatRetry(status.retry_in_secs, generatedAt, now);
  return (
    <span class="health health-error">
      <span class="dot" aria-hidden="true" />
      {status.error ? "Problem" : "Not reachable"}
      {retry ? ` · ${retry}` : ""}
    </span>
  );
}

function ServerBanner({ status, generatedAt, named }: { status: ServerHealthInfo; generatedAt: string; named?: boolean }) {
  const now = useNow();
  const retry = formatRetry(status.retry_in_secs, generatedAt, now);
  return (
    <div class="server-banner" role="note" aria-label={`Problem with ${displaySafe(status.name)}`}>
      {status.error ? (
        <ErrorNote error={status.error} />
      ) : (
        <span>Lockwatch could not check this server.</span>
      )}
      <span class="banner-meta">
        {named ? `${displaySafe(status.name)} · ` : ""}
        {retry ? `${retry[0]?.toUpperCase()}${retry.slice(1)}.` : "Lockwatch will try again on the next poll."} Locks shown may be out of date.
      </span>
    </div>
  );
}

/** Where a row sits: `index` among the body rows, `ariaIndex` in the whole table (header row = 1). */
interface RowPlace {
  index: number;
  ariaIndex: number;
}

interface GroupHeaderProps extends RowPlace {
  server: string;
  status: ServerHealthInfo | null;
  count: number;
  total: number;
  /** Not the first group: a rule above it. */
  later: boolean;
  open: boolean;
  colCount: number;
  tabbable: boolean;
  generatedAt: string;
  onToggle: () => void;
  onFocus: () => void;
}

function GroupHeader(p: GroupHeaderProps) {
  const name = displaySafe(p.server);
  return (
    <tr
      class={`group-row${p.later ? " later" : ""}${p.status && !p.status.ok ? " has-error" : ""}`}
      data-nav={groupKey(p.server)}
      data-row={p.index}
      aria-rowindex={p.ariaIndex}
      tabIndex={p.tabbable ? 0 : -1}
      aria-expanded={p.open}
      onFocus={(e) => e.target === e.currentTarget && p.onFocus()}
    >
      <th scope="rowgroup" colSpan={p.colCount}>
        <div class="group-head">
        <button
          type="button"
          class="group-toggle"
          tabIndex={-1}
          aria-expanded={p.open}
          aria-label={`${name}: ${p.open ? "collapse" : "expand"}`}
          onClick={p.onToggle}
        >
          <Icon name="chevron" class={p.open ? "chev open" : "chev"} />
        </button>
        <span class="group-name truncate" title={name}>
          {name}
        </span>
        {p.status?.kind && <span class="group-kind">{SERVER_KIND_LABEL[p.status.kind]}</span>}
        <ServerHealth status={p.status} generatedAt={p.generatedAt} />
        <span class="spacer" />
        <span class="group-count">
          {p.count === p.total ? `${p.total} ${p.total === 1 ? "file" : "files"}` : `${p.count} of ${p.total} files`}
        </span>
        </div>
      </th>
    </tr>
  );
}

interface FileRowProps extends RowPlace {
  file: FileEntry;
  grouped: boolean;
  tabbable: boolean;
  flash: boolean;
  menuOpen: boolean;
  caps: Capabilities | undefined;
  onFocus: () => void;
  onWant: () => void;
  onAction: (id: string) => void;
  onMenu: () => void;
}

// The clock ticks every second: only these small cells read it, so a second's tick re-renders the
// countdowns of locked files, not every row of a table that may hold thousands of files.
function TakenLine({ lock }: { lock: Lock }) {
  const now = useNow();
  const at = parseTime(lock.acquired_at);
  return (
    <div class="line" title={at != null ? `${formatFull(at)} (${formatAgo(at, now)})` : undefined}>
      {at != null ? formatClock(at, now) : <span class="muted">unknown</span>}
    </div>
  );
}

function ExpiryLine({ lock }: { lock: Lock }) {
  const now = useNow();
  const exp = formatExpiry(lock, now);
  const at = parseTime(lock.expires_at);
  return (
    <div
      class={`line expiry expiry-${exp.tone}`}
      title={
        exp.tone === "unknown"
          ? "The server does not say when this lock ends"
          : exp.tone === "never"
            ? "This lock has no timeout; it lasts until it is released"
            : at != null
              ? formatFull(at)
              : undefined
      }
    >
      {exp.text}
    </div>
  );
}

function FileRow(p: FileRowProps) {
  const { file } = p;
  const name = displaySafe(baseName(file.path));
  const folder = displaySafe(dirName(file.path));
  const mine = file.locks.some(isMine);
  const locks = file.locks;
  const stateLabel = file.state === "locked" && mine && locks.every(isMine) ? "Locked by you" : STATE_LABEL[file.state];

  return (
    <tr
      class={`file-row row-${file.state}${mine ? " mine" : ""}${file.wanted ? " wanted" : ""}${p.flash ? " flash" : ""}${p.menuOpen ? " menu-open" : ""}`}
      data-nav={rowKey(file)}
      data-row={p.index}
      aria-rowindex={p.ariaIndex}
      tabIndex={p.tabbable ? 0 : -1}
      aria-label={`${name}, ${stateLabel}`}
      onFocus={(e) => e.target === e.currentTarget && p.onFocus()}
      onDblClick={p.onMenu}
    >
      <td class="col-file">
        <div class="file-cell" title={displaySafe(file.path)}>
          <Icon name="file" class="file-icon" />
          <span class="file-name truncate">{name}</span>
          <span class="file-dir truncate">{folder}</span>
        </div>
      </td>
      {!p.grouped && (
        <td class="col-server">
          <span class="truncate" title={displaySafe(file.server)}>
            {displaySafe(file.server)}
          </span>
        </td>
      )}
      <td class="col-state">
        <span class={`state state-${file.state}`}>
          <Icon name={STATE_ICON[file.state]} />
          {stateLabel}
        </span>
      </td>
      {file.error ? (
        <td class="col-error" colSpan={5}>
          <ErrorNote error={file.error} />
        </td>
      ) : file.state === "unsupported" && locks.length === 0 ? (
        <td class="col-note muted" colSpan={5}>
          This server does not support locking for this file.
        </td>
      ) : (
        <>
          <td class="col-holder">
            {locks.map((l, i) => (
              <HolderLine key={i} lock={l} />
            ))}
          </td>
          <td class="col-editor">
            {locks.map((l, i) => (
              <div key={i} class="line truncate" title={displaySafe(l.editor)}>
                {l.editor ? displaySafe(l.editor) : <span class="muted">—</span>}
              </div>
            ))}
          </td>
          <td class="col-type">
            {locks.map((l, i) => (
              <div
                key={i}
                class="line truncate"
                title={[
                  LOCK_KIND_HELP[l.kind],
                  l.timeout ? `timeout ${displaySafe(l.timeout)}` : "",
                  `depth ${displaySafe(l.depth)}`,
                  l.inherited && l.root ? `inherited from ${displaySafe(l.root)}` : "",
                ]
                  .filter(Boolean)
                  .join(" · ")}
              >
                {l.scope === "shared" ? "Shared" : "Exclusive"} · {LOCK_KIND_LABEL[l.kind]}
              </div>
            ))}
          </td>
          <td class="col-taken">
            {locks.map((l, i) => (
              <TakenLine key={i} lock={l} />
            ))}
          </td>
          <td class="col-expires">
            {locks.map((l, i) => (
              <ExpiryLine key={i} lock={l} />
            ))}
          </td>
        </>
      )}
      <td class="col-actions">
        <div class="row-actions">
          <button
            type="button"
            class={`icon-button want${file.wanted ? " on" : ""}`}
            tabIndex={-1}
            aria-pressed={file.wanted}
            aria-label={`Tell me when ${name} is free`}
            title={file.wanted ? "You will be told when it is free (click to stop)" : "Tell me when it is free"}
            onClick={p.onWant}
          >
            <Icon name={file.wanted ? "bellOn" : "bell"} />
          </button>
          {mine ? (
            <button type="button" class="small" tabIndex={-1} onClick={() => p.onAction("unlock")}>
              Unlock
            </button>
          ) : file.state === "unlocked" ? (
            <button type="button" class="small" tabIndex={-1} onClick={() => p.onAction("lock")}>
              Lock
            </button>
          ) : (
            <span class="small-placeholder" />
          )}
          <button
            type="button"
            class="icon-button"
            tabIndex={-1}
            data-menu-button
            aria-haspopup="menu"
            aria-expanded={p.menuOpen}
            aria-label={`More actions for ${name}`}
            onClick={p.onMenu}
          >
            <Icon name="more" />
          </button>
        </div>
      </td>
    </tr>
  );
}

interface ErrorRowProps extends RowPlace {
  /** The file's name, as shown. */
  name: string;
  /** The last failed action on this file, shown in a line under its row. */
  error: ErrorInfo;
  colCount: number;
  onDismiss: () => void;
}

function ErrorRow(p: ErrorRowProps) {
  return (
    <tr class="row-error" aria-live="polite" data-row={p.index} aria-rowindex={p.ariaIndex}>
      <td colSpan={p.colCount}>
        <div class="row-error-line">
          <ErrorNote error={p.error} />
          <button type="button" class="icon-button" aria-label={`Dismiss the error for ${p.name}`} onClick={p.onDismiss}>
            <Icon name="close" />
          </button>
        </div>
      </td>
    </tr>
  );
}

function HolderLine({ lock }: { lock: Lock }) {
  const name = lockHolderName(lock);
  const title = lock.kind === "wopi" && !holderKnown(lock) ? WOPI_HOLDER_NOTE : displaySafe(lock.owner_id) || name;
  return (
    <div class="line holder" title={title}>
      <span class="truncate">{name}</span>
      {isMine(lock) && <span class="badge badge-you">you</span>}
      {lock.inherited && (
        <span class="badge badge-inherited" title={`Inherited from the folder lock on ${displaySafe(lock.root) || "a parent folder"}`}>
          <Icon name="folder" />
          <span class="visually-hidden">inherited from a folder lock</span>
        </span>
      )}
    </div>
  );
}

interface RowMenuProps {
  label: string;
  anchor: DOMRect;
  items: MenuItem[];
  onClose: (refocus: boolean) => void;
}

function RowMenu({ label, anchor, items, onClose }: RowMenuProps) {
  const ref = useRef<HTMLDivElement>(null);

  useLayoutEffect(() => {
    const el = ref.current;
    if (!el) return;
    const h = el.offsetHeight || items.length * 28;
    const w = el.offsetWidth || 220;
    const below = anchor.bottom + 2;
    const top = below + h > window.innerHeight - 4 ? Math.max(4, anchor.top - h - 2) : below;
    el.style.top = `${top}px`;
    el.style.left = `${Math.max(4, Math.min(anchor.right - w, window.innerWidth - w - 4))}px`;
    el.querySelector<HTMLElement>('[role="menuitem"]:not([aria-disabled="true"])')?.focus();
  }, []);

  useEffect(() => {
    const onDown = (e: MouseEvent) => {
      if (ref.current && e.target instanceof Node && !ref.current.contains(e.target)) onClose(false);
    };
    document.addEventListener("mousedown", onDown);
    return () => document.removeEventListener("mousedown", onDown);
  }, [onClose]);

  const onKeyDown = (e: KeyboardEvent) => {
    const all = [...(ref.current?.querySelectorAll<HTMLElement>('[role="menuitem"]') ?? [])];
    const i = all.indexOf(document.activeElement as HTMLElement);
    const focusAt = (n: number) => all[(n + all.length) % all.length]?.focus();
    switch (e.key) {
      case "ArrowDown":
        e.preventDefault();
        return focusAt(i + 1);
      case "ArrowUp":
        e.preventDefault();
        return focusAt(i - 1);
      case "Home":
        e.preventDefault();
        return focusAt(0);
      case "End":
        e.preventDefault();
        return focusAt(all.length - 1);
      case "Escape":
        e.preventDefault();
        e.stopPropagation();
        return onClose(true);
      case "Tab":
        e.preventDefault();
        return onClose(true);
    }
  };

  return (
    <div ref={ref} class="menu" role="menu" aria-label={label} onKeyDown={onKeyDown}>
      {items.map((item) => (
        <button
          key={item.id}
          type="button"
          role="menuitem"
          tabIndex={-1}
          class={item.danger ? "menu-item danger-text" : "menu-item"}
          aria-disabled={item.disabledReason ? true : undefined}
          title={item.disabledReason}
          onClick={() => {
            if (item.disabledReason) return;
            onClose(item.id !== "force" && !item.id.startsWith("ask") && item.id !== "history");
            item.run();
          }}
        >
          <Icon name={item.icon} />
          <span class="menu-label">
            {item.label}
            {item.disabledReason && <span class="menu-note">{item.disabledReason}</span>}
          </span>
        </button>
      ))}
    </div>
  );
}
