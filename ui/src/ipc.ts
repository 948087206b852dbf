// The one door to the backend.
//
// This is the only module that imports `@tauri-apps/api`. Every command the UI uses has one typed
// function here, and every failure reaches the rest of the UI as an `IpcError { kind, message }`:
// components decide icons and placement from `kind` and show `message` as written by the engine.
// They never look inside the message text. Keeping the list of commands here also keeps the
// shell's capability file honest: a command not called from this file should not be granted.

import { invoke } from "@tauri-apps/api/core";
import { listen, type UnlistenFn } from "@tauri-apps/api/event";

import type { ActionReport } from "./bindings/ActionReport";
import type { AppSettings } from "./bindings/AppSettings";
import type { AskChannel } from "./bindings/AskChannel";
import type { AskSent } from "./bindings/AskSent";
import type { Capabilities } from "./bindings/Capabilities";
import type { ErrorKind } from "./bindings/ErrorKind";
import type { FocusFile } from "./bindings/FocusFile";
import type { Hold } from "./bindings/Hold";
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
/** Lock actions answer with the file as read afterwards and what is true now (`outcome.ok` may be false). */
export const lockFile = (server: string, path: string, shared: boolean) =>
  call<ActionReport>("lock_file", { server, path, shared });
export const unlockFile = (server: string, path: string) => call<ActionReport>("unlock_file", { server, path });
/** The engine's warning for breaking the current holders' locks, read from the server now. */
export const forceUnlockWarning = (server: string, path: string) =>
  call<string>("force_unlock_warning", { server, path });
export const forceUnlock = (server: string, path: string) => call<ActionReport>("force_unlock", { server, path });
export const capabilities = (server: string) => call<Capabilities>("capabilities", { server });
/** The ways to reach the file's current holder (empty: nobody can be asked). */
export const askChannels = (server: string, path: string) => call<AskChannel[]>("ask_channels", { server, path });
/** Sends the request; an e-mail opens in the desktop's mail client, not here. */
export const askToRelease = (server: string, path: string, via: AskChannel, message: string) =>
  call<AskSent>("ask_to_release", { server, path, via, message });
export const listServers = () => call<ServerSettings[]>("list_servers");
/** `create` adds a new server (an existing name is refused); `password` goes to the OS keyring, null keeps what is stored. */
export const saveServer = (settings: ServerSettings, create: boolean, password: string | null) =>
  call<void>("save_server", { settings, create, password });
export const removeServer = (name: string) => call<void>("remove_server", { name });
export const testConnection = (settings: ServerSettings, password: string | null) =>
  call<Capabilities>("test_connection", { settings, password });
export const history = (server: string, path: string) => call<Hold[]>("history", { server, path });
export const exitDemo = () => call<void>("exit_demo");
/** Turns the demo server back on (from the "no servers" empty state). */
export const enterDemo = () => call<void>("enter_demo");
export const appSettings = () => call<AppSettings>("app_settings");
export const setAutostart = (enabled: boolean) => call<AppSettings>("set_autostart", { enabled });
/** The file whose row to reveal, once (null: none waiting). The shell keeps it until it is taken. */
export const takeFocus = () => call<FocusFile | null>("take_focus");

/** The backend pushes a fresh snapshot after every poll. */
export function onSnapshot(handler: (snapshot: Snapshot) => void): Promise<UnlistenFn> {
  return listen<Snapshot>("snapshot", (event) => handler(event.payload));
}

/**
 * A file waits to be revealed (a notification's "Open", a wanted file chosen in the tray): take it
 * with `takeFocus`. A window that opens for it is not listening yet, so it asks once at start too.
 */
export function onFocusFile(handler: () => void): Promise<UnlistenFn> {
  return listen("focus-file", () => handler());
}

export type { UnlistenFn };
