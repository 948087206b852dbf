// A realistic office for the preview and the tests: four servers (one unreachable), exclusive,
// shared, inherited, app, token and WOPI locks, a file error, a file that cannot be locked.
// Times are relative to `now` so countdowns look alive whenever this is opened.

import type { AskChannel } from "../src/bindings/AskChannel";
import type { Capabilities } from "../src/bindings/Capabilities";
import type { FileEntry } from "../src/bindings/FileEntry";
import type { Hold } from "../src/bindings/Hold";
import type { Lock } from "../src/bindings/Lock";
import type { ServerSettings } from "../src/bindings/ServerSettings";
import type { ServerHealth } from "../src/bindings/ServerHealth";
import type { Snapshot } from "../src/bindings/Snapshot";

const MIN = 60_000;
const iso = (ms: number) => new Date(ms).toISOString();

/** A lock as the engine reports it (`mine` marks your own). */
export type DevLock = Lock;

export function lock(partial: Partial<DevLock> = {}): DevLock {
  return {
    owner: null,
    owner_id: null,
    editor: null,
    scope: "exclusive",
    kind: "webdav",
    token: null,
    depth: "0",
    root: null,
    acquired_at: null,
    expires_at: null,
    expiry: "unknown",
    timeout: null,
    inherited: false,
    mine: false,
    ...partial,
  };
}

export function file(server: string, path: string, partial: Partial<FileEntry> = {}): FileEntry {
  const locks = partial.locks ?? [];
  return {
    server,
    path,
    url: `https://files.example.org${encodeURI(path)}`,
    state: locks.length ? "locked" : "unlocked",
    locks,
    error: null,
    wanted: false,
    ...partial,
  };
}

export function server(name: string, partial: Partial<ServerHealth> = {}): ServerHealth {
  return { name, kind: "webdav", ok: true, error: null, retry_in_secs: null, checked_at: null, ...partial };
}

export function demoSnapshot(now: number): Snapshot {
  const at = (minutes: number) => iso(now + minutes * MIN);
  return {
    demo: false,
    paused: false,
    generated_at: iso(now),
    config_path: "/home/you/.config/lockwatch/config.toml",
    servers: [
      server("Team Nextcloud", { kind: "nextcloud", checked_at: iso(now - 8_000) }),
      server("Legal DAV", { kind: "webdav", checked_at: iso(now - 11_000) }),
      server("Office Online", { kind: "wopi", checked_at: iso(now - 14_000) }),
      server("Archive NAS", {
        kind: "webdav",
        ok: false,
        checked_at: iso(now - 35_000),
        retry_in_secs: 25,
        error: {
          kind: "network",
          message:
            "Can't reach archive.office.lan: the connection was refused. Check that the NAS is switched on and that you are on the office network.",
        },
      }),
    ],
    files: [
      file("Team Nextcloud", "/Finance/2025/Budget.xlsx", {
        wanted: true,
        locks: [
          lock({
            owner: "Anna Schmidt",
            owner_id: "anna.schmidt",
            editor: "Nextcloud Office",
            kind: "user",
            acquired_at: at(-42),
            expires_at: at(18),
            expiry: "at",
            timeout: "Second-3600",
          }),
        ],
      }),
      file("Team Nextcloud", "/Finance/2025/Forecast Q3.xlsx"),
      file("Team Nextcloud", "/Marketing/Launch plan.docx", {
        locks: [
          lock({
            owner: "Ben Okafor",
            owner_id: "bokafor",
            editor: "Collabora Online",
            kind: "app",
            acquired_at: at(-185),
            expiry: "never",
          }),
        ],
      }),
      file("Team Nextcloud", "/Marketing/Brand guidelines v7 final FINAL (really final) – approved by legal.pdf", {
        locks: [
          lock({
            owner: "You",
            owner_id: "me",
            editor: "Nextcloud Desktop",
            kind: "token",
            token: "opaquelocktoken:5e1c…",
            acquired_at: at(-10),
            expires_at: at(130),
            expiry: "at",
            mine: true,
          }),
        ],
      }),
      file("Team Nextcloud", "/HR/Onboarding checklist.odt", {
        state: "error",
        error: {
          kind: "forbidden",
          message: "You may not see the locks on this file. Ask the owner of /HR to share the folder with you.",
        },
      }),
      file("Legal DAV", "/contracts/Acme MSA 2025.docx", {
        wanted: true,
        locks: [
          lock({
            owner: "Chris Weber",
            owner_id: "cweber",
            editor: "LibreOffice 24.8",
            scope: "shared",
            acquired_at: at(-25),
            expires_at: iso(now + 45_000),
            expiry: "at",
            timeout: "Second-1800",
          }),
          lock({
            owner: "Dana Ilić",
            owner_id: "dilic",
            editor: "Microsoft Word",
            scope: "shared",
            acquired_at: at(-6),
            expires_at: at(9),
            expiry: "at",
            timeout: "Second-900",
          }),
        ],
      }),
      file("Legal DAV", "/contracts/drafts/NDA template.docx", {
        locks: [
          lock({
            owner: "Eve Martin",
            owner_id: "emartin",
            depth: "infinity",
            root: "/contracts/drafts/",
            inherited: true,
            acquired_at: at(-95),
            expires_at: at(-2),
            expiry: "at",
            timeout: "Second-3600",
          }),
        ],
      }),
      file("Legal DAV", "/contracts/signed/Acme MSA signed.pdf"),
      file("Legal DAV", "/public/Price list.csv", { state: "unsupported" }),
      file("Office Online", "/Sales/Pipeline.xlsx", {
        locks: [
          lock({ kind: "wopi", editor: "Excel for the web", acquired_at: at(-3), expires_at: at(27), expiry: "at" }),
        ],
      }),
      file("Office Online", "/Sales/Pricing 2025.pptx"),
      file("Archive NAS", "/scans/2019 invoices.pdf", {
        state: "error",
        error: { kind: "network", message: "Not checked: the server did not answer." },
      }),
    ],
  };
}

export const demoCapabilities: Record<string, Capabilities> = {
  "Team Nextcloud": {
    server: "Team Nextcloud",
    kind: "nextcloud",
    dav_class2: true,
    scopes: ["exclusive"],
    reports_locks: true,
    exposes_tokens: "no",
    can_force_unlock: "yes",
    nextcloud_locking: "files_lock 2.0.1",
    lock_type_feature: true,
  },
  "Legal DAV": {
    server: "Legal DAV",
    kind: "webdav",
    dav_class2: true,
    scopes: ["exclusive", "shared"],
    reports_locks: true,
    exposes_tokens: "yes",
    can_force_unlock: "unknown",
    nextcloud_locking: null,
    lock_type_feature: false,
  },
  "Office Online": {
    server: "Office Online",
    kind: "wopi",
    dav_class2: false,
    scopes: ["exclusive"],
    reports_locks: false,
    exposes_tokens: "no",
    can_force_unlock: "no",
    nextcloud_locking: null,
    lock_type_feature: false,
  },
};

/** The ways to reach a holder on each server (the engine's `ask_channels`). */
export const demoAskChannels: Record<string, AskChannel[]> = {
  "Team Nextcloud": ["talk", "comment", "mail"],
  "Legal DAV": ["mail"],
  "Office Online": [],
};

export const demoServers: ServerSettings[] = [
  {
    name: "Team Nextcloud",
    kind: "nextcloud",
    url: "https://cloud.example.org/remote.php/dav/files/me/",
    username: "me",
    password_env: null,
    has_password: true,
    watch: ["/Finance/", "/Marketing/", "/HR/"],
    wanted: ["/Finance/2025/Budget.xlsx"],
  },
  {
    name: "Legal DAV",
    kind: "auto",
    url: "https://dav.legal.example.org/",
    username: "me",
    password_env: null,
    has_password: true,
    watch: ["/contracts/", "/public/Price list.csv"],
    wanted: ["/contracts/Acme MSA 2025.docx"],
  },
  {
    name: "Office Online",
    kind: "wopi",
    url: "https://wopi.example.org/wopi/",
    username: null,
    password_env: "LOCKWATCH_WOPI_TOKEN",
    has_password: false,
    watch: ["/Sales/"],
    wanted: [],
  },
  {
    name: "Archive NAS",
    kind: "webdav",
    url: "http://archive.office.lan/dav/",
    username: "office",
    password_env: null,
    has_password: true,
    watch: ["/scans/"],
    wanted: [],
  },
];

export function demoHistory(now: number): Hold[] {
  const at = (minutes: number) => iso(now + minutes * MIN);
  const h = (holder: string, id: string, editor: string | null, from: number, to: number | null, stale = false): Hold => ({
    server: "Team Nextcloud",
    path: "/Finance/2025/Budget.xlsx",
    holder,
    holder_id: id,
    editor,
    kind: editor ? "app" : "user",
    scope: "exclusive",
    from: at(from),
    until: to == null ? null : at(to),
    stale,
  });
  return [
    h("Anna Schmidt", "anna.schmidt", "Nextcloud Office", -42, null),
    h("Ben Okafor", "bokafor", "Collabora Online", -300, -190),
    h("Anna Schmidt", "anna.schmidt", "Nextcloud Office", -1500, -1380, true),
    h("You", "me", "Nextcloud Desktop", -2900, -2870),
  ];
}
