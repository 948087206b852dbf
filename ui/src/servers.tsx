// The servers view: each configured server with its health, and a form to add, edit, test or
// remove one. Passwords only travel one way: typed here, handed to `save_server` /
// `test_connection`, stored in the OS keyring by the engine. The form never shows one back;
// `has_password` only lets it say "stored in keyring".

import type { ComponentChildren } from "preact";
import { useEffect, useId, useRef, useState } from "preact/hooks";

import type { Ability } from "./bindings/Ability";
import type { AppSettings } from "./bindings/AppSettings";
import type { Capabilities } from "./bindings/Capabilities";
import type { ErrorInfo } from "./bindings/ErrorInfo";
import type { ErrorKind } from "./bindings/ErrorKind";
import type { ServerKindSetting } from "./bindings/ServerKindSetting";
import type { ServerSettings } from "./bindings/ServerSettings";
import type { ServerHealth as ServerHealthInfo } from "./bindings/ServerHealth";
import type { Snapshot } from "./bindings/Snapshot";
import { ConfirmDialog } from "./dialog";
import { ErrorNote, useFeedback } from "./feedback";
import { Icon } from "./icons";
import * as ipc from "./ipc";
import { ServerHealth } from "./locks";
import { displaySafe, SERVER_KIND_LABEL } from "./text";

export interface ServersViewProps {
  snap: Snapshot | null;
  /** Open the "add server" form right away (from an empty state or the demo banner). */
  startNew: boolean;
  onStartedNew: () => void;
  /** Something changed on the backend's side: fetch a fresh snapshot. */
  onChanged: () => void;
  onLeaveDemo: () => void;
}

type Selection = { kind: "none" } | { kind: "new" } | { kind: "edit"; name: string };

export function ServersView(props: ServersViewProps) {
  const feedback = useFeedback();
  const [servers, setServers] = useState<ServerSettings[] | null>(null);
  const [loadError, setLoadError] = useState<ErrorInfo | null>(null);
  const [selection, setSelection] = useState<Selection>({ kind: "none" });
  const [removing, setRemoving] = useState<string | null>(null);

  const load = async (select?: string) => {
    try {
      const list = await ipc.listServers();
      setServers(list);
      setLoadError(null);
      if (select) setSelection({ kind: "edit", name: select });
      else
        setSelection((s) =>
          s.kind === "none" && list[0] ? { kind: "edit", name: list[0].name } : s,
        );
    } catch (raw) {
      const e = ipc.IpcError.from(raw);
      setLoadError({ kind: e.kind, message: e.message });
    }
  };

  useEffect(() => {
    void load();
    // Load once when the view opens.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  useEffect(() => {
    if (props.startNew) {
      setSelection({ kind: "new" });
      props.onStartedNew();
    }
  }, [props.startNew]);

  const statusOf = (name: string): ServerHealthInfo | null => props.snap?.servers.find((s) => s.name === name) ?? null;
  // The demo's server is built in, not in the settings: it can be looked at, not changed.
  const editable = !props.snap?.demo || selection.kind === "new";
  const selected = selection.kind === "edit" ? (servers?.find((s) => s.name === selection.name) ?? null) : null;

  return (
    <div class="servers-view">
      <aside class="server-list" aria-label="Servers">
        <div class="pane-head">
          <h2>Servers</h2>
          <button type="button" class="small primary" onClick={() => setSelection({ kind: "new" })}>
            <Icon name="plus" /> Add server
          </button>
        </div>
        {props.snap?.demo && (
          <div class="demo-note">
            <strong>Demo server</strong>
            <span>Simulated colleagues; not saved in your settings.</span>
            <button type="button" class="link" onClick={props.onLeaveDemo}>
              Leave the demo
            </button>
          </div>
        )}
        {loadError && <ErrorNote error={loadError} />}
        {servers && servers.length === 0 && !props.snap?.demo && (
          <p class="empty-inline">No servers yet. Add one to start watching its locks.</p>
        )}
        <ul class="server-items">
          {servers?.map((s) => {
            const status = statusOf(s.name);
            const current = selection.kind === "edit" && selection.name === s.name;
            return (
              <li key={s.name}>
                <button
                  type="button"
                  class={`server-item${current ? " current" : ""}`}
                  aria-current={current ? "true" : undefined}
                  onClick={() => setSelection({ kind: "edit", name: s.name })}
                >
                  <span class="server-item-head">
                    <Icon name="server" />
                    <span class="truncate server-item-name" title={displaySafe(s.name)}>
                      {displaySafe(s.name)}
                    </span>
                    <span class="group-kind">
                      {s.kind === "auto"
                        ? status?.kind
                          ? SERVER_KIND_LABEL[status.kind]
                          : "Auto"
                        : SERVER_KIND_LABEL[s.kind]}
                    </span>
                  </span>
                  <span class="truncate muted server-item-url" title={displaySafe(s.url)}>
                    {displaySafe(s.url)}
                  </span>
                  <ServerHealth status={status} generatedAt={props.snap?.generated_at ?? new Date().toISOString()} />
                  {status?.error && <ErrorNote error={status.error} class="compact" />}
                </button>
              </li>
            );
          })}
        </ul>
        <AppSettingsPanel />
      </aside>
      <section class="server-detail" aria-label="Server settings">
        {selection.kind === "none" && (
          <div class="empty-state">
            <Icon name="server" class="empty-icon" />
            <h2>Pick a server or add one</h2>
            <p>Lockwatch checks each server's locks in the background and tells you when a file you want is free.</p>
          </div>
        )}
        {(selection.kind === "new" || selected) && (
          <ServerForm
            key={selection.kind === "new" ? "\u0000new" : selected?.name}
            initial={selection.kind === "new" ? null : selected}
            editable={editable}
            configPath={props.snap?.config_path ?? null}
            onSaved={async (name, isNew) => {
              feedback.done(
                isNew
                  ? `Added “${name}”. Lockwatch will check it on the next poll.`
                  : `Saved “${name}”.`,
              );
              await load(name);
              props.onChanged();
            }}
            onRemove={(name) => setRemoving(name)}
            onCancel={() => setSelection({ kind: "none" })}
          />
        )}
      </section>
      {removing && (
        <ConfirmDialog
          title={`Remove “${displaySafe(removing)}”?`}
          confirmLabel="Remove server"
          busyLabel="Removing…"
          danger
          onCancel={() => setRemoving(null)}
          onConfirm={async () => {
            await ipc.removeServer(removing);
            feedback.done(`Removed “${displaySafe(removing)}”. Its stored password was deleted from the keyring.`);
            setSelection({ kind: "none" });
            await load();
            props.onChanged();
          }}
        >
          <p>
            Lockwatch stops watching its files and forgets its stored password. Locks on the server itself are not
            changed.
          </p>
        </ConfirmDialog>
      )}
    </div>
  );
}

type Field = "name" | "url" | "username" | "password" | "general";

/** Which form field an error concerns. Decided from `kind` alone, never from the message text. */
function fieldFor(kind: ErrorKind): Field {
  switch (kind) {
    case "unauthorized":
    case "forbidden":
      return "password";
    case "not_found":
    case "network":
    case "timeout":
    case "tls":
    case "protocol":
    case "unsupported":
    case "too_large":
      return "url";
    default:
      return "general";
  }
}

const EMPTY: ServerSettings = {
  name: "",
  kind: "auto",
  url: "",
  username: null,
  password_env: null,
  has_password: false,
  watch: [],
  wanted: [],
};

interface ServerFormProps {
  initial: ServerSettings | null;
  /** The shell can save, remove and test servers; otherwise the form is read-only. */
  editable: boolean;
  configPath: string | null;
  onSaved: (name: string, isNew: boolean) => Promise<void>;
  onRemove: (name: string) => void;
  onCancel: () => void;
}

function ServerForm({ initial, editable, configPath, onSaved, onRemove, onCancel }: ServerFormProps) {
  const isNew = initial === null;
  const [draft, setDraft] = useState<ServerSettings>(initial ?? EMPTY);
  const [password, setPassword] = useState("");
  const [errors, setErrors] = useState<Partial<Record<Field, ErrorInfo>>>({});
  const [tested, setTested] = useState<Capabilities | null>(null);
  const [busy, setBusy] = useState<"test" | "save" | null>(null);
  const ids = { name: useId(), kind: useId(), url: useId(), user: useId(), pass: useId(), env: useId() };

  const set = <K extends keyof ServerSettings>(key: K, value: ServerSettings[K]) => {
    setDraft((d) => ({ ...d, [key]: value }));
    setTested(null);
  };

  const validate = (): boolean => {
    const next: Partial<Record<Field, ErrorInfo>> = {};
    if (!draft.name.trim()) next.name = { kind: "config", message: "Give the server a name, for example “Work cloud”." };
    let url: URL | null = null;
    try {
      url = new URL(draft.url.trim());
    } catch {
      url = null;
    }
    if (!url || (url.protocol !== "https:" && url.protocol !== "http:")) {
      next.url = { kind: "config", message: "Enter the server's address, starting with https://." };
    } else if (url.username || url.password) {
      next.url = { kind: "config", message: "Put the user name and password in their own fields, not in the address." };
    }
    setErrors(next);
    return Object.keys(next).length === 0;
  };

  const settings = (): ServerSettings => ({
    ...draft,
    name: draft.name.trim(),
    url: draft.url.trim(),
    username: draft.username?.trim() || null,
    password_env: draft.password_env?.trim() || null,
  });

  const place = (raw: unknown) => {
    const e = ipc.IpcError.from(raw);
    setErrors({ [fieldFor(e.kind)]: { kind: e.kind, message: e.message } });
  };

  const test = async () => {
    if (!validate()) return;
    setBusy("test");
    setTested(null);
    try {
      setTested(await ipc.testConnection(settings(), password || null));
      setErrors({});
    } catch (e) {
      place(e);
    } finally {
      setBusy(null);
    }
  };

  const save = async (e: Event) => {
    e.preventDefault();
    if (!validate()) return;
    setBusy("save");
    try {
      const s = settings();
      await ipc.saveServer(s, isNew, password || null);
      // The password now lives in the keyring; drop our copy.
      setPassword("");
      setDraft({ ...s, has_password: s.has_password || password !== "" });
      setErrors({});
      await onSaved(s.name, isNew);
    } catch (err) {
      place(err);
    } finally {
      setBusy(null);
    }
  };

  const fieldError = (f: Field) => {
    const err = errors[f];
    return err ? <ErrorNote error={err} id={`${ids.name}-${f}-err`} class="field-error" /> : null;
  };
  const describedBy = (f: Field) => (errors[f] ? `${ids.name}-${f}-err` : undefined);

  return (
    <form class="form server-form" onSubmit={(e) => void save(e)} noValidate>
      <h2>{isNew ? "Add a server" : displaySafe(initial.name)}</h2>
      {!editable && (
        <p class="not-yet" role="note">
          <Icon name="alert" />
          <span>
            This is the built-in demo server; it is not in your settings. Add your own server, and Lockwatch saves
            it in
            {configPath ? (
              <>
                {" "}
                <code class="literal">{displaySafe(configPath)}</code>
              </>
            ) : (
              " its config file"
            )}
            .
          </span>
        </p>
      )}
      {fieldError("general")}
      <fieldset class="form-fields" disabled={!editable}>
      <div class="form-grid">
        <label for={ids.name}>Name</label>
        <div>
          <input
            id={ids.name}
            value={draft.name}
            readOnly={!isNew}
            placeholder="Work cloud"
            aria-invalid={errors.name ? true : undefined}
            aria-describedby={describedBy("name")}
            onInput={(e) => set("name", e.currentTarget.value)}
          />
          {!isNew && <p class="hint">The name identifies the server; remove and add it again to rename.</p>}
          {fieldError("name")}
        </div>

        <label for={ids.kind}>Kind</label>
        <div>
          <select
            id={ids.kind}
            value={draft.kind}
            onChange={(e) => set("kind", e.currentTarget.value as ServerKindSetting)}
          >
            <option value="auto">Detect automatically</option>
            <option value="webdav">WebDAV</option>
            <option value="nextcloud">Nextcloud</option>
            <option value="wopi">WOPI</option>
          </select>
        </div>

        <label for={ids.url}>Address</label>
        <div>
          <input
            id={ids.url}
            type="url"
            value={draft.url}
            placeholder="https://cloud.example.org/remote.php/dav/files/me/"
            aria-invalid={errors.url ? true : undefined}
            aria-describedby={describedBy("url")}
            onInput={(e) => set("url", e.currentTarget.value)}
          />
          {fieldError("url")}
        </div>

        <label for={ids.user}>User name</label>
        <div>
          <input
            id={ids.user}
            value={draft.username ?? ""}
            autoComplete="username"
            onInput={(e) => set("username", e.currentTarget.value || null)}
          />
          {fieldError("username")}
        </div>

        <label for={ids.pass}>Password</label>
        <div>
          <input
            id={ids.pass}
            type="password"
            value={password}
            autoComplete="new-password"
            placeholder={draft.has_password ? "Leave empty to keep the stored password" : "App password or token"}
            aria-invalid={errors.password ? true : undefined}
            aria-describedby={describedBy("password")}
            onInput={(e) => {
              setPassword(e.currentTarget.value);
              setTested(null);
            }}
          />
          {draft.has_password && (
            <p class="hint keyring">
              <Icon name="key" /> Stored in keyring
            </p>
          )}
          {fieldError("password")}
        </div>

        <label for={ids.env}>Password variable</label>
        <div>
          <input
            id={ids.env}
            value={draft.password_env ?? ""}
            placeholder="Optional, e.g. LOCKWATCH_WORK_PASSWORD"
            onInput={(e) => set("password_env", e.currentTarget.value || null)}
          />
          <p class="hint">Read the password from this environment variable instead of the keyring.</p>
        </div>

        <span class="grid-label">Watch</span>
        <ListEditor
          label="watch list"
          items={draft.watch}
          placeholder="/Documents/Projects/"
          hint="Files or folders to check for locks. A folder covers everything inside it."
          onChange={(v) => set("watch", v)}
        />

        <span class="grid-label">Wanted</span>
        <ListEditor
          label="wanted list"
          items={draft.wanted}
          placeholder="/Documents/Budget.xlsx"
          hint="Files you are waiting for: Lockwatch notifies you the moment they are free."
          onChange={(v) => set("wanted", v)}
        />
      </div>
      </fieldset>

      {tested && <TestResult caps={tested} />}

      <div class="form-actions">
        {!isNew && editable && (
          <button type="button" class="danger-text" onClick={() => onRemove(initial.name)}>
            <Icon name="trash" /> Remove…
          </button>
        )}
        <span class="spacer" />
        {editable && (
          <button type="button" onClick={() => void test()} disabled={busy !== null}>
            {busy === "test" ? "Testing…" : "Test connection"}
          </button>
        )}
        <button type="button" onClick={onCancel}>
          {isNew ? "Cancel" : "Close"}
        </button>
        {editable && (
          <button type="submit" class="primary" disabled={busy !== null}>
            {busy === "save" ? "Saving…" : "Save"}
          </button>
        )}
      </div>
    </form>
  );
}

function ListEditor(props: {
  label: string;
  items: string[];
  placeholder: string;
  hint: string;
  onChange: (items: string[]) => void;
}) {
  const [value, setValue] = useState("");
  const inputId = useId();
  const add = () => {
    let v = value.trim();
    if (!v) return;
    if (!v.startsWith("/")) v = `/${v}`;
    if (!props.items.includes(v)) props.onChange([...props.items, v]);
    setValue("");
  };
  return (
    <div class="list-editor">
      {props.items.length > 0 ? (
        <ul aria-label={props.label}>
          {props.items.map((item) => (
            <li key={item}>
              <span class="mono truncate" title={displaySafe(item)}>
                {displaySafe(item)}
              </span>
              <button
                type="button"
                class="icon-button"
                aria-label={`Remove ${displaySafe(item)} from the ${props.label}`}
                onClick={() => props.onChange(props.items.filter((x) => x !== item))}
              >
                <Icon name="close" />
              </button>
            </li>
          ))}
        </ul>
      ) : (
        <p class="muted list-empty">Empty.</p>
      )}
      <div class="list-add">
        <input
          id={inputId}
          value={value}
          placeholder={props.placeholder}
          aria-label={`Add a path to the ${props.label}`}
          onInput={(e) => setValue(e.currentTarget.value)}
          onKeyDown={(e) => {
            if (e.key === "Enter") {
              e.preventDefault();
              add();
            }
          }}
        />
        <button type="button" onClick={add} disabled={!value.trim()}>
          Add
        </button>
      </div>
      <p class="hint">{props.hint}</p>
    </div>
  );
}

function Fact({ label, children, wide }: { label: string; children: ComponentChildren; wide?: boolean }) {
  return (
    <div class={wide ? "wide" : undefined}>
      <dt>{label}</dt>
      <dd>{children}</dd>
    </div>
  );
}

const yesNo = (b: boolean) => (b ? "yes" : "no");
const ABILITY: Record<Ability, string> = { yes: "yes", no: "no", unknown: "unknown" };

function TestResult({ caps }: { caps: Capabilities }) {
  const ref = useRef<HTMLDivElement>(null);
  // The result appears under the form; bring it into view rather than below the fold.
  useEffect(() => ref.current?.scrollIntoView?.({ block: "nearest" }), []);
  return (
    <div ref={ref} class="test-result" role="status">
      <p>
        <Icon name="check" class="ok-icon" /> Connected. Detected <strong>{SERVER_KIND_LABEL[caps.kind]}</strong>.
      </p>
      <dl class="facts">
        <Fact label="Lock support (DAV class 2)">{yesNo(caps.dav_class2)}</Fact>
        <Fact label="Lock scopes">{caps.scopes.length ? caps.scopes.join(", ") : "none"}</Fact>
        <Fact label="Shows who holds a lock">{yesNo(caps.reports_locks)}</Fact>
        <Fact label="Shows lock tokens">{ABILITY[caps.exposes_tokens]}</Fact>
        <Fact label="Force unlock">
          {caps.can_force_unlock === "yes" ? "allowed" : caps.can_force_unlock === "no" ? "not allowed" : "unknown"}
        </Fact>
        {caps.kind === "nextcloud" && (
          <Fact label="Nextcloud file locking">
            {caps.nextcloud_locking ? displaySafe(caps.nextcloud_locking) : "not installed"}
          </Fact>
        )}
        {caps.kind === "nextcloud" && <Fact label="Lock types">{yesNo(caps.lock_type_feature)}</Fact>}
      </dl>
    </div>
  );
}

/** The app's own settings: start at login. */
function AppSettingsPanel() {
  const [settings, setSettings] = useState<AppSettings | null>(null);
  const [error, setError] = useState<ErrorInfo | null>(null);
  const [busy, setBusy] = useState(false);
  const id = useId();

  useEffect(() => {
    ipc
      .appSettings()
      .then(setSettings)
      .catch((raw) => {
        const e = ipc.IpcError.from(raw);
        setError({ kind: e.kind, message: e.message });
      });
  }, []);

  if (!settings?.autostart_available && !error) return null;
  const toggle = async (enabled: boolean) => {
    setBusy(true);
    setError(null);
    try {
      setSettings(await ipc.setAutostart(enabled));
    } catch (raw) {
      const e = ipc.IpcError.from(raw);
      setError({ kind: e.kind, message: e.message });
    } finally {
      setBusy(false);
    }
  };
  return (
    <div class="app-settings">
      <h3>Lockwatch</h3>
      {settings?.autostart_available && (
        <label class="checkbox" for={id}>
          <input
            id={id}
            type="checkbox"
            checked={settings.autostart}
            disabled={busy}
            onChange={(e) => void toggle(e.currentTarget.checked)}
          />
          Start when I log in (in the tray)
        </label>
      )}
      {error && <ErrorNote error={error} class="compact" />}
    </div>
  );
}
