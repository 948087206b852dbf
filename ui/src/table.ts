// What the lock table shows, in which order: filtering, sorting and grouping of snapshot rows.
//
// Pure functions over `FileEntry`, so the rules (notably where empty values go) are tested without
// rendering. Empty values (no holder, no expiry, …) always sort after real ones, in both directions:
// flipping the sort should reorder the information, not bury it under blanks.

import type { FileEntry } from "./bindings/FileEntry";
import type { FileState } from "./bindings/FileState";
import type { Lock } from "./bindings/Lock";
import type { ServerHealth } from "./bindings/ServerHealth";
import type { Snapshot } from "./bindings/Snapshot";
import { baseName, LOCK_KIND_LABEL, parseTime } from "./text";

export type SortKey = "file" | "server" | "state" | "holder" | "editor" | "type" | "taken" | "expires";
export type SortDir = "ascending" | "descending";
export interface Sort {
  key: SortKey;
  dir: SortDir;
}

export interface Filter {
  text: string;
  /** Empty means every state. */
  states: ReadonlySet<FileState>;
}

export interface Group {
  server: string;
  status: ServerHealth | null;
  files: FileEntry[];
  /** Files on this server before filtering, so an empty group can say "none match" vs "none watched". */
  total: number;
}

export const rowKey = (file: { server: string; path: string }) => `${file.server}\u0000${file.path}`;

/** Files that went from locked to free between two snapshots. */
export function freedFiles(prev: Snapshot | null, next: Snapshot): FileEntry[] {
  if (!prev) return [];
  const before = new Map(prev.files.map((f) => [rowKey(f), f.state]));
  return next.files.filter((f) => f.state === "unlocked" && before.get(rowKey(f)) === "locked");
}

const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: "base" });

const STATE_RANK: Record<FileState, number> = { locked: 0, error: 1, unsupported: 2, unlocked: 3 };

const holderOf = (lock: Lock) => lock.owner || lock.owner_id || null;

function minOf(values: (number | null)[]): number | null {
  let best: number | null = null;
  for (const v of values) if (v != null && (best == null || v < best)) best = v;
  return best;
}

/** The value a column sorts by; null means "nothing to show" and always goes last. */
export function sortValue(file: FileEntry, key: SortKey): string | number | null {
  const locks = file.locks;
  switch (key) {
    case "file":
      return baseName(file.path);
    case "server":
      return file.server;
    case "state":
      return STATE_RANK[file.state];
    case "holder":
      return locks.map(holderOf).find((h) => h != null) ?? null;
    case "editor":
      return locks.map((l) => l.editor).find((e) => e != null) ?? null;
    case "type": {
      const lock = locks[0];
      // What the cell shows ("exclusive User", "shared WebDAV"), so the order matches the screen.
      return lock ? `${lock.scope} ${LOCK_KIND_LABEL[lock.kind]}` : null;
    }
    case "taken":
      return minOf(locks.map((l) => parseTime(l.acquired_at)));
    case "expires": {
      // The soonest dated expiry; "never" sorts after every date; unknown counts as empty.
      const dated = minOf(locks.map((l) => (l.expiry === "at" ? parseTime(l.expires_at) : null)));
      if (dated != null) return dated;
      return locks.some((l) => l.expiry === "never") ? Number.POSITIVE_INFINITY : null;
    }
  }
}

function compareValues(a: string | number, b: string | number): number {
  if (typeof a === "number" && typeof b === "number") return a === b ? 0 : a < b ? -1 : 1;
  return collator.compare(String(a), String(b));
}

export function compareFiles(a: FileEntry, b: FileEntry, sort: Sort): number {
  const va = sortValue(a, sort.key);
  const vb = sortValue(b, sort.key);
  let c = 0;
  if (va == null && vb != null) return 1;
  if (vb == null && va != null) return -1;
  if (va != null && vb != null) c = compareValues(va, vb) * (sort.dir === "ascending" ? 1 : -1);
  if (c !== 0) return c;
  // Stable, predictable tie-break: file name, then full path, then server.
  return (
    collator.compare(baseName(a.path), baseName(b.path)) ||
    collator.compare(a.path, b.path) ||
    collator.compare(a.server, b.server)
  );
}

export function sortFiles(files: readonly FileEntry[], sort: Sort): FileEntry[] {
  return [...files].sort((a, b) => compareFiles(a, b, sort));
}

function haystack(file: FileEntry): string {
  const parts = [file.path, file.server];
  for (const l of file.locks) parts.push(l.owner ?? "", l.owner_id ?? "", l.editor ?? "");
  return parts.join("\n").toLocaleLowerCase();
}

/** Every whitespace-separated word of the text must appear in the file's path, server, holders or editors. */
export function matchesFilter(file: FileEntry, filter: Filter): boolean {
  if (filter.states.size > 0 && !filter.states.has(file.state)) return false;
  const words = filter.text.toLocaleLowerCase().split(/\s+/).filter(Boolean);
  if (words.length === 0) return true;
  const hay = haystack(file);
  return words.every((w) => hay.includes(w));
}

export function filterFiles(files: readonly FileEntry[], filter: Filter): FileEntry[] {
  return files.filter((f) => matchesFilter(f, filter));
}

/**
 * One group per server, in the order the snapshot lists servers (the user's configured order),
 * then any server that only appears in files. Servers with no visible rows still get a group so
 * their health stays visible.
 */
export function groupFiles(
  all: readonly FileEntry[],
  visible: readonly FileEntry[],
  servers: readonly ServerHealth[],
): Group[] {
  const names: string[] = servers.map((s) => s.name);
  for (const f of all) if (!names.includes(f.server)) names.push(f.server);
  return names.map((name) => ({
    server: name,
    status: servers.find((s) => s.name === name) ?? null,
    files: visible.filter((f) => f.server === name),
    total: all.filter((f) => f.server === name).length,
  }));
}

export function countByState(files: readonly FileEntry[]): Record<FileState, number> {
  const counts: Record<FileState, number> = { locked: 0, unlocked: 0, unsupported: 0, error: 0 };
  for (const f of files) counts[f.state]++;
  return counts;
}

// ---- windowing: which rows of a long table to render -------------------------------------------
//
// The table renders only the rows near the scroll viewport; spacer rows stand in for the rest so the
// scrollbar is right. These functions do the arithmetic on row heights in pixels and know nothing of
// the DOM, so the window is tested without layout.

/** `offsets[i]` is the top of row i from the top of the first row; `offsets[n]` the height of all n rows. */
export function rowOffsets(heights: readonly number[]): number[] {
  const offsets = new Array<number>(heights.length + 1);
  let y = 0;
  offsets[0] = 0;
  for (let i = 0; i < heights.length; i++) {
    y += heights[i] ?? 0;
    offsets[i + 1] = y;
  }
  return offsets;
}

/** The first row whose bottom is below `y` (binary search); `n` when `y` is past the end. */
function rowAt(offsets: readonly number[], y: number): number {
  let lo = 0;
  let hi = offsets.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((offsets[mid + 1] ?? 0) > y) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/**
 * The rows `[start, end)` that meet the band `[top, top + height)`, widened by `overscan` rows on
 * each side so a short scroll or a key press finds its rows already there.
 */
export function rowsInBand(offsets: readonly number[], top: number, height: number, overscan: number): [number, number] {
  const n = offsets.length - 1;
  if (n <= 0) return [0, 0];
  const total = offsets[n] ?? 0;
  // A scroll position past the end (the rows just got fewer) shows the last rows.
  const from = Math.max(0, Math.min(top, total - height));
  const first = rowAt(offsets, from);
  const last = rowAt(offsets, from + Math.max(0, height) - 0.5);
  return [Math.max(0, first - overscan), Math.min(n, last + 1 + overscan)];
}

/**
 * The scroll position that shows row `i` whole in a band of `height` pixels now starting at `top`:
 * "nearest" moves as little as possible (arrow keys), "center" puts the row in the middle (revealing a
 * far-away row). Never scrolls past either end.
 */
export function scrollToShow(
  offsets: readonly number[],
  i: number,
  top: number,
  height: number,
  align: "nearest" | "center",
): number {
  const n = offsets.length - 1;
  const rowTop = offsets[Math.max(0, Math.min(i, n))] ?? 0;
  const rowBottom = offsets[Math.max(0, Math.min(i + 1, n))] ?? rowTop;
  const max = Math.max(0, (offsets[n] ?? 0) - height);
  let next = top;
  if (align === "center") next = rowTop - (height - (rowBottom - rowTop)) / 2;
  else if (rowTop < top || rowBottom - rowTop > height) next = rowTop;
  else if (rowBottom > top + height) next = rowBottom - height;
  return Math.round(Math.max(0, Math.min(max, next)));
}
