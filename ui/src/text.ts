// Turning server-supplied values into words a person reads.
//
// Everything here is pure and takes `now` as an argument, so the tests can pin time and the
// table can re-render every second from one clock. Nothing here builds HTML: callers put the
// returned strings into JSX text nodes or `title` attributes, which Preact escapes.

import type { ErrorKind } from "./bindings/ErrorKind";
import type { FileState } from "./bindings/FileState";
import type { Lock } from "./bindings/Lock";
import type { LockKind } from "./bindings/LockKind";
import type { AskChannel } from "./bindings/AskChannel";
import type { ServerKind } from "./bindings/ServerKind";

// C0/C1 controls (but not tab), DEL, and the invisible characters that can reorder or hide text:
// bidi embeddings/overrides/isolates (U+202A–202E, U+2066–2069), marks (U+200E/F, U+061C),
// line/paragraph separators.
const UNSAFE = /[\u0000-\u0008\u000A-\u001F\u007F-\u009F\u061C\u200E\u200F\u2028\u2029\u202A-\u202E\u2066-\u2069]/g;

/**
 * Make a server-supplied string safe to show: every control or bidi-override character becomes
 * a visible U+FFFD, so "\u202Eevil" cannot pose as "live" and a name cannot hide a line break.
 * Tabs become spaces. The result is still plain text; never use it as HTML.
 */
export function displaySafe(value: string | null | undefined): string {
  if (value == null) return "";
  return value.replace(/\t/g, " ").replace(UNSAFE, "\uFFFD");
}

/** Last path segment ("/Finance/Budget.xlsx" -> "Budget.xlsx"); a trailing slash is ignored. */
export function baseName(path: string): string {
  const trimmed = path.endsWith("/") && path.length > 1 ? path.slice(0, -1) : path;
  const i = trimmed.lastIndexOf("/");
  return i >= 0 ? trimmed.slice(i + 1) || trimmed : trimmed;
}

/** Folder part of a path ("/Finance/Budget.xlsx" -> "/Finance"). */
export function dirName(path: string): string {
  const i = path.lastIndexOf("/");
  return i > 0 ? path.slice(0, i) : "/";
}

export function parseTime(value: string | null): number | null {
  if (value == null) return null;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? null : ms;
}

/** "45 s", "12 min", "3 h 5 min", "2 d 4 h": a compact span for durations and countdowns. */
export function formatSpan(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s} s`;
  const min = Math.floor(s / 60);
  if (min < 60) return `${min} min`;
  const h = Math.floor(min / 60);
  if (h < 24) {
    const m = min % 60;
    return m ? `${h} h ${m} min` : `${h} h`;
  }
  const d = Math.floor(h / 24);
  const rh = h % 24;
  return rh ? `${d} d ${rh} h` : `${d} d`;
}

export type ExpiryTone = "ok" | "soon" | "stale" | "never" | "unknown";

export interface ExpiryText {
  text: string;
  tone: ExpiryTone;
}

/** Locks closer than this to expiring are shown as "soon". */
const SOON_MS = 5 * 60 * 1000;

/** The live "expires" cell: "in 12 min", "in 45 s", "expired 2 min ago — stale", "never", "unknown". */
export function formatExpiry(lock: Pick<Lock, "expiry" | "expires_at">, now: number): ExpiryText {
  if (lock.expiry === "never") return { text: "never", tone: "never" };
  const at = lock.expiry === "at" || lock.expiry === "at_most" ? parseTime(lock.expires_at) : null;
  if (at == null) return { text: "unknown", tone: "unknown" };
  const left = at - now;
  // WOPI: the editor may refresh the lock before then, so the time is an upper bound.
  if (lock.expiry === "at_most") {
    return left > 0 ? { text: `within ${formatSpan(left)}`, tone: "ok" } : { text: "any moment", tone: "soon" };
  }
  if (left > 0) return { text: `in ${formatSpan(left)}`, tone: left <= SOON_MS ? "soon" : "ok" };
  return { text: `expired ${formatSpan(-left)} ago — stale`, tone: "stale" };
}

/**
 * How long ago something happened, in steps of 10 s under a minute: the text changes at most every
 * 10 s, so the window repaints for it that rarely (a repaint of the whole window costs WebKit far more
 * than the per-second tick that computes it), and nobody needs a past time to the second.
 */
export function formatAgo(at: number, now: number): string {
  const ms = now - at;
  if (ms < 10_000) return "just now";
  if (ms < 60_000) return `${Math.floor(ms / 10_000) * 10} s ago`;
  return `${formatSpan(ms)} ago`;
}

const sameDay = (a: Date, b: Date) =>
  a.getFullYear() === b.getFullYear() && a.getMonth() === b.getMonth() && a.getDate() === b.getDate();

const timeFmt = new Intl.DateTimeFormat(undefined, { hour: "numeric", minute: "2-digit" });
const dateTimeFmt = new Intl.DateTimeFormat(undefined, {
  day: "numeric",
  month: "short",
  hour: "numeric",
  minute: "2-digit",
});
const fullFmt = new Intl.DateTimeFormat(undefined, { dateStyle: "full", timeStyle: "medium" });

/** Local clock time, with the date only when it is not today. */
export function formatClock(at: number, now: number): string {
  const d = new Date(at);
  return sameDay(d, new Date(now)) ? timeFmt.format(d) : dateTimeFmt.format(d);
}

/** The long form for tooltips. */
export function formatFull(at: number): string {
  return fullFmt.format(new Date(at));
}

export function lockHolderName(lock: Lock): string {
  if (lock.owner) return displaySafe(lock.owner);
  if (lock.owner_id) return displaySafe(lock.owner_id);
  return lock.kind === "wopi" ? "Unknown (WOPI)" : "Unknown";
}

/** Whether a person could be asked: a WOPI lock never says who holds it. */
export function holderKnown(lock: Lock): boolean {
  return lock.kind !== "wopi" && Boolean(lock.owner || lock.owner_id);
}

export const WOPI_HOLDER_NOTE = "The WOPI protocol does not reveal who holds the lock.";

export const LOCK_KIND_LABEL: Record<LockKind, string> = {
  webdav: "WebDAV",
  user: "User",
  app: "App",
  token: "Token",
  wopi: "WOPI",
};

export const LOCK_KIND_HELP: Record<LockKind, string> = {
  webdav: "A WebDAV LOCK taken by a client",
  user: "A Nextcloud lock taken by a person from the web interface or a client",
  app: "A lock held by an app, usually an online editor with the file open",
  token: "A lock held through a token; the holder may be a sync client",
  wopi: "A lock held by an Office Online / WOPI editor session",
};

export const STATE_LABEL: Record<FileState, string> = {
  locked: "Locked",
  unlocked: "Free",
  unsupported: "No locking",
  error: "Error",
};

export const SERVER_KIND_LABEL: Record<ServerKind, string> = {
  webdav: "WebDAV",
  nextcloud: "Nextcloud",
  wopi: "WOPI",
};

/** What the person should know about who sees a request sent through each channel. */
export const ASK_CHANNEL_NOTE: Record<AskChannel, string> = {
  talk: "A private one-to-one message; Nextcloud notifies them.",
  comment: "Everyone who can see this file can read the comment; the mention notifies them.",
  mail: "Opens a new e-mail in your mail client; nothing is sent until you send it.",
  webhook: "Posted to your team's chat channel, where others in it can read it.",
};

export const ASK_CHANNEL_LABEL: Record<AskChannel, string> = {
  talk: "Nextcloud Talk message",
  comment: "Comment on the file",
  mail: "Email",
  webhook: "Team webhook",
};

/**
 * A short heading for an error kind. The `message` from the engine is what the person reads;
 * this only labels the icon, so nothing here ever looks inside the message text.
 */
export const ERROR_KIND_LABEL: Record<ErrorKind, string> = {
  unauthorized: "Sign-in failed",
  forbidden: "Access denied",
  not_found: "Not found",
  locked: "Locked",
  conflict: "Conflict",
  unsupported: "Not supported",
  network: "Can't reach server",
  timeout: "Timed out",
  tls: "Certificate problem",
  too_large: "Too large",
  protocol: "Unexpected reply",
  server: "Server error",
  config: "Settings problem",
  internal: "Internal error",
};

/** Groups error kinds into the few looks the UI has (icon + colour). */
export type ErrorLook = "auth" | "offline" | "missing" | "busy" | "broken";

export function errorLook(kind: ErrorKind): ErrorLook {
  switch (kind) {
    case "unauthorized":
    case "forbidden":
      return "auth";
    case "network":
    case "timeout":
    case "tls":
      return "offline";
    case "not_found":
      return "missing";
    case "locked":
    case "conflict":
      return "busy";
    default:
      return "broken";
  }
}

/**
 * "retrying in 25 s" for a server in back-off. `retry_in_secs` was measured when the snapshot was
 * made, so the countdown runs from the snapshot's time, not from when it arrived.
 */
export function formatRetry(retryInSecs: number | null, since: string, now: number): string | null {
  if (retryInSecs == null) return null;
  const base = parseTime(since) ?? now;
  const left = base + retryInSecs * 1000 - now;
  return left > 999 ? `retrying in ${formatSpan(left)}` : "retrying now…";
}
