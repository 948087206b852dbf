// The one door to the backend.
//
// This is the only module that imports `@tauri-apps/api`. Every command the UI uses has one typed
// function here, and every failure reaches the rest of the UI as an `IpcError { kind, message }`:
// components decide icons and placement from `kind` and show `message` as written by the engine.
// They never look inside the message text. Keeping the list of commands here also keeps the
// shell's capability file honest: a command not called from this file should not be granted.

import { invoke } from "@tauri-apps/api/core";
import { listen, type UnlistenFn } from "@tauri-apps/api/event";

import type { ActionOutcome } from "./bindings-pending/ActionOutcome";
import type { AskChannel } from "./bindings-pending/AskChannel";
import type { Capabilities } from "./bindings-pending/Capabilities";
import type { ErrorKind } from "./bindings/ErrorKind";
import type { FocusFile } from "./bindings/FocusFile";
import type { HistoryEntry } from "./bindings-pending/HistoryEntry";
import type { ServerSettings } from "./bindings/ServerSettings";
import type { Snapshot } from "./bindings/Snapshot";

const ERROR_KINDS: ReadonlySet<string> = new Set<ErrorKind>([
  "unauthorized",
  "forbidden",
  "not_found",
  "locked",
  "conflict",
  "unsupported",
  "network",
  "timeout",
  "tls",
  "too_large",
  "protocol",
  "server",
  "config",
  "internal",
]);

/** A failed command, as the engine described it. */
export class IpcError extends Error {
  readonly kind: ErrorKind;

  constructor(kind: ErrorKind, message: string) {
    super(message);
    this.name = "IpcError";
    this.kind = kind;
  }

  /**
   * Commands reject with `{ kind, message }`. Anything else (a panic string, a missing command,
   * a bug in the UI) becomes kind "internal" so callers only ever handle one shape.
   */
  static from(raw: unknown): IpcError {
    if (raw instanceof IpcError) return raw;
    if (typeof raw === "object" && raw !== null) {
      const { kind, message } = raw as { kind?: unknown; message?: unknown };
      if (typeof kind === "string" && ERROR_KINDS.has(kind) && typeof message === "string") {
        return new IpcError(kind as ErrorKind, message);
      }
      if (raw instanceof Error) return new IpcError("internal", raw.message);
      if (typeof message === "string") return new IpcError("internal", message);
    }
    if (typeof raw === "string" && raw) return new IpcError("internal", raw);
    return new IpcError("internal", "Something went wrong inside Lockwatch.");
  }
}

async function call<T>(command: string, args?: Record<string, unknown>): Promise<T> {
  try {
    return await invoke<T>(command, args);
  } catch (raw) {
    throw IpcError.from(raw);
  }
}

// Tauri 2 maps these camelCase argument names onto the Rust parameter names.

export const snapshot = () => call<Snapshot>("snapshot");
export const refreshNow = () => call<Snapshot>("refresh_now");
export const setPaused = (paused: boolean) => call<void>("set_paused", { paused });
export const setWanted = (server: string, path: string, wanted: boolean) =>
  call<void>("set_wanted", { server, path, wanted });
export const lockFile = (server: string, path: string, shared: boolean) =>
  call<ActionOutcome>("lock_file", { server, path, shared });
export const unlockFile = (server: string, path: string) => call<ActionOutcome>("unlock_file", { server, path });
export const forceUnlock = (server: string, path: string) => call<ActionOutcome>("force_unlock", { server, path });
export const capabilities = (server: string) => call<Capabilities>("capabilities", { server });
export const askToRelease = (server: string, path: string, via: AskChannel, message: string) =>
  call<string>("ask_to_release", { server, path, via, message });
export const listServers = () => call<ServerSettings[]>("list_servers");
/** `password` goes to the OS keyring; null keeps whatever is stored. */
export const saveServer = (settings: ServerSettings, password: string | null) =>
  call<void>("save_server", { settings, password });
export const removeServer = (name: string) => call<void>("remove_server", { name });
export const testConnection = (settings: ServerSettings, password: string | null) =>
  call<Capabilities>("test_connection", { settings, password });
export const history = (server: string, path: string) => call<HistoryEntry[]>("history", { server, path });
export const exitDemo = () => call<void>("exit_demo");
/**
 * Proposed command, not yet in the engine's list: turns the demo server back on from the
 * "no servers" empty state. Until the shell grants it, the call fails and the UI says so.
 */
export const enterDemo = () => call<void>("enter_demo");

/** The backend pushes a fresh snapshot after every poll. */
export function onSnapshot(handler: (snapshot: Snapshot) => void): Promise<UnlistenFn> {
  return listen<Snapshot>("snapshot", (event) => handler(event.payload));
}

/** A notification was clicked: reveal that file's row. */
export function onFocusFile(handler: (file: FocusFile) => void): Promise<UnlistenFn> {
  return listen<FocusFile>("focus-file", (event) => handler(event.payload));
}

export type { UnlistenFn };
