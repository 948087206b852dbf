// A stand-in for the Rust engine behind Tauri's IPC, for the preview page and the tests.
//
// It installs `mockIPC` from `@tauri-apps/api/mocks`, so the real `src/ipc.ts` (and the real
// `invoke` / `listen`) run unchanged. It keeps a small mutable state so actions have visible
// effects, records every command, and can be told to fail a command with an `{ kind, message }`.

import { emit } from "@tauri-apps/api/event";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";

import type { ActionReport } from "../src/bindings/ActionReport";
import type { AppSettings } from "../src/bindings/AppSettings";
import type { AskChannel } from "../src/bindings/AskChannel";
import type { AskSent } from "../src/bindings/AskSent";
import type { Capabilities } from "../src/bindings/Capabilities";
import type { ErrorInfo } from "../src/bindings/ErrorInfo";
import type { FileEntry } from "../src/bindings/FileEntry";
import type { FocusFile } from "../src/bindings/FocusFile";
import type { Hold } from "../src/bindings/Hold";
import type { Outcome } from "../src/bindings/Outcome";
import type { ServerSettings } from "../src/bindings/ServerSettings";
import type { Snapshot } from "../src/bindings/Snapshot";
import { isMine } from "../src/features";
import { demoAskChannels, lock } from "./demo-data";

export interface Call {
  cmd: string;
  args: Record<string, unknown>;
}

export interface FakeOptions {
  snapshot: Snapshot;
  capabilities?: Record<string, Capabilities>;
  /** Ways to reach a holder, per server (default: the demo's). */
  askChannels?: Record<string, AskChannel[]>;
  servers?: ServerSettings[];
  history?: Hold[];
  /** Milliseconds to wait before answering, to make "busy" states visible in the preview. */
  latency?: number;
  /** A file waiting to be revealed when the window starts (it was opened for it). */
  focus?: FocusFile;
}

export interface FakeBackend {
  calls: Call[];
  /** The commands called, in order, without the event plumbing. */
  commands(): string[];
  callsOf(cmd: string): Call[];
  state: Snapshot;
  servers: ServerSettings[];
  settings: AppSettings;
  /** Make the next lock action `cmd` leave the file as it is and answer with this outcome. */
  outcome(cmd: string, outcome: Outcome): void;
  /** Make the next calls of `cmd` reject with this error (or keep failing when `always`). */
  fail(cmd: string, error: ErrorInfo | string, always?: boolean): void;
  /** Push a snapshot to the UI as the engine does after every poll. */
  push(snapshot?: Snapshot): Promise<void>;
  /** Reveal a file as the shell does: keep it for `take_focus` and send `focus-file`. */
  focus(server: string, path: string, problem?: ErrorInfo): Promise<void>;
  /** The file waiting for `take_focus`. */
  pendingFocus: FocusFile | null;
  uninstall(): void;
}

const base = (path: string) => path.slice(path.lastIndexOf("/") + 1);

export function installFakeBackend(options: FakeOptions): FakeBackend {
  const calls: Call[] = [];
  const failures = new Map<string, { error: ErrorInfo | string; always: boolean }>();
  const outcomes = new Map<string, Outcome>();
  const caps = options.capabilities ?? {};
  const fake: FakeBackend = {
    calls,
    commands: () => calls.map((c) => c.cmd),
    callsOf: (cmd) => calls.filter((c) => c.cmd === cmd),
    state: structuredClone(options.snapshot),
    servers: structuredClone(options.servers ?? []),
    settings: { autostart: false, autostart_available: true },
    outcome(cmd, outcome) {
      outcomes.set(cmd, outcome);
    },
    fail(cmd, error, always = false) {
      failures.set(cmd, { error, always });
    },
    push: (snapshot) => {
      if (snapshot) fake.state = structuredClone(snapshot);
      return emit("snapshot", structuredClone(fake.state));
    },
    focus: (server, path, problem) => {
      fake.pendingFocus = { server, path, problem: problem ?? null };
      return emit("focus-file");
    },
    pendingFocus: options.focus ?? null,
    uninstall: () => clearMocks(),
  };

  const findFile = (server: unknown, path: unknown): FileEntry => {
    const f = fake.state.files.find((x) => x.server === server && x.path === path);
    if (!f) throw { kind: "not_found", message: `Lockwatch does not watch ${String(path)} on ${String(server)}.` };
    return f;
  };
  const outcome = (file: FileEntry, sentence: string): ActionReport => ({
    ...structuredClone(file),
    outcome: { ok: true, message: sentence, error: null },
  });

  const handle = (cmd: string, args: Record<string, unknown>): unknown => {
    switch (cmd) {
      case "snapshot":
        return structuredClone(fake.state);
      case "refresh_now":
        fake.state.generated_at = new Date().toISOString();
        return structuredClone(fake.state);
      case "set_paused":
        fake.state.paused = Boolean(args.paused);
        return null;
      case "set_wanted":
        findFile(args.server, args.path).wanted = Boolean(args.wanted);
        return null;
      case "lock_file": {
        const f = findFile(args.server, args.path);
        const shared = Boolean(args.shared);
        f.state = "locked";
        f.locks = [
          lock({
            owner: "You",
            owner_id: "me",
            editor: "Lockwatch",
            scope: shared ? "shared" : "exclusive",
            acquired_at: new Date().toISOString(),
            expires_at: new Date(Date.now() + 3600_000).toISOString(),
            expiry: "at",
            mine: true,
          }),
        ];
        return outcome(f, `You now hold ${shared ? "a shared" : "an exclusive"} lock on ${base(f.path)} for one hour.`);
      }
      case "unlock_file": {
        const f = findFile(args.server, args.path);
        f.locks = f.locks.filter((l) => !isMine(l));
        if (f.locks.length === 0) f.state = "unlocked";
        return outcome(f, `${base(f.path)} is unlocked.`);
      }
      case "force_unlock_warning": {
        const f = findFile(args.server, args.path);
        const who = f.locks.filter((l) => !isMine(l)).map((l) => l.owner ?? "another user").join(" and ");
        return `This releases ${who}'s lock on ${base(f.path)}. If they are still editing, they may lose unsaved work, and their editor may not notice.`;
      }
      case "force_unlock": {
        const f = findFile(args.server, args.path);
        const who = f.locks.map((l) => l.owner ?? "someone").join(" and ");
        f.locks = [];
        f.state = "unlocked";
        return outcome(f, `${base(f.path)} is free: the lock held by ${who} was removed.`);
      }
      case "capabilities": {
        const c = caps[String(args.server)];
        if (!c) throw { kind: "network", message: `Can't reach ${String(args.server)} to ask what it supports.` };
        return structuredClone(c);
      }
      case "ask_channels": {
        findFile(args.server, args.path);
        return structuredClone((options.askChannels ?? demoAskChannels)[String(args.server)] ?? []);
      }
      case "ask_to_release": {
        const f = findFile(args.server, args.path);
        const via = args.via as AskChannel;
        const holder = f.locks.find((l) => !isMine(l))?.owner ?? "the holder";
        const sent: AskSent = {
          channel: via,
          holder,
          message: `Asked ${holder} via ${via === "talk" ? "Talk" : via === "mail" ? "email" : via} to release ${base(f.path)}.`,
        };
        return sent;
      }
      case "list_servers":
        return structuredClone(fake.servers);
      case "save_server": {
        const s = structuredClone(args.settings as ServerSettings);
        const password = args.password as string | null;
        const old = fake.servers.find((x) => x.name === s.name);
        if (args.create && old) throw { kind: "config", message: `A server named "${s.name}" already exists; choose another name.` };
        s.has_password = Boolean(password) || Boolean(old?.has_password);
        fake.servers = old ? fake.servers.map((x) => (x.name === s.name ? s : x)) : [...fake.servers, s];
        return null;
      }
      case "remove_server":
        fake.servers = fake.servers.filter((x) => x.name !== args.name);
        fake.state.servers = fake.state.servers.filter((x) => x.name !== args.name);
        fake.state.files = fake.state.files.filter((x) => x.server !== args.name);
        return null;
      case "test_connection": {
        const s = args.settings as ServerSettings;
        const known = caps[s.name] ?? Object.values(caps).find((c) => c.kind === s.kind);
        if (!known) throw { kind: "network", message: `Can't reach ${s.url}: no answer within 10 seconds.` };
        return structuredClone(known);
      }
      case "history":
        return structuredClone(
          (options.history ?? []).filter((h) => h.server === args.server && h.path === args.path),
        );
      case "exit_demo":
        fake.state.demo = false;
        return null;
      case "enter_demo":
        fake.state.demo = true;
        return null;
      case "app_settings":
        return structuredClone(fake.settings);
      case "set_autostart":
        fake.settings.autostart = Boolean(args.enabled);
        return structuredClone(fake.settings);
      case "take_focus": {
        const taken = fake.pendingFocus;
        fake.pendingFocus = null;
        return taken;
      }
      default:
        throw `unknown command ${cmd}`;
    }
  };

  mockIPC(
    async (cmd, payload) => {
      const args = (payload ?? {}) as Record<string, unknown>;
      calls.push({ cmd, args: structuredClone(args) });
      if (options.latency) await new Promise((r) => setTimeout(r, options.latency));
      const failure = failures.get(cmd);
      if (failure) {
        if (!failure.always) failures.delete(cmd);
        throw failure.error;
      }
      const forced = outcomes.get(cmd);
      if (forced) {
        outcomes.delete(cmd);
        return { ...structuredClone(findFile(args.server, args.path)), outcome: forced };
      }
      return handle(cmd, args);
    },
    { shouldMockEvents: true },
  );
  return fake;
}
