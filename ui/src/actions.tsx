// The dialogs behind a row's actions: force unlock (with its warning), ask the holder to release,
// and the file's lock history.

import { useEffect, useId, useState } from "preact/hooks";

import type { ActionReport } from "./bindings/ActionReport";
import type { AskChannel } from "./bindings/AskChannel";
import type { Capabilities } from "./bindings/Capabilities";
import type { FileEntry } from "./bindings/FileEntry";
import type { Hold } from "./bindings/Hold";
import type { Lock } from "./bindings/Lock";
import { useNow } from "./clock";
import { ConfirmDialog, Dialog, usePending } from "./dialog";
import { isMine } from "./features";
import { ErrorNote } from "./feedback";
import * as ipc from "./ipc";
import {
  ASK_CHANNEL_LABEL,
  baseName,
  displaySafe,
  formatClock,
  formatExpiry,
  formatFull,
  formatSpan,
  holderKnown,
  lockHolderName,
  parseTime,
  WOPI_HOLDER_NOTE,
  ASK_CHANNEL_NOTE,
} from "./text";

/** "Anna", "Anna and Ben", "Anna, Ben and Chris" — holders other than you. */
export function holderList(locks: readonly Lock[]): string {
  const names = [...new Set(locks.filter((l) => !isMine(l)).map(lockHolderName))];
  if (names.length === 0) return "Someone";
  if (names.length === 1) return names[0] ?? "Someone";
  return `${names.slice(0, -1).join(", ")} and ${names[names.length - 1]}`;
}

interface FileDialogProps {
  file: FileEntry;
  onClose: () => void;
  returnFocus?: () => HTMLElement | null;
}

const focusBack = (props: FileDialogProps) => (props.returnFocus ? { returnFocus: props.returnFocus } : {});

export function ForceUnlockDialog(props: FileDialogProps & { caps: Capabilities; onDone: (r: ActionReport) => void }) {
  const { file, caps } = props;
  const now = useNow();
  // The engine's warning, from the lock as the server lists it now (the holder may have changed).
  const [warning, setWarning] = useState<string | null>(null);
  useEffect(() => {
    let alive = true;
    ipc
      .forceUnlockWarning(file.server, file.path)
      .then((w) => alive && setWarning(w))
      .catch(() => {
        // The local wording below stands in; the action itself reports what the server says.
      });
    return () => {
      alive = false;
    };
  }, [file.server, file.path]);
  const name = displaySafe(baseName(file.path));
  const others = file.locks.filter((l) => !isMine(l));
  const holders = holderList(file.locks);
  const anonymous = others.length > 0 && others.every((l) => !holderKnown(l));
  const editors = [...new Set(others.map((l) => l.editor).filter((e): e is string => !!e))].map(displaySafe);
  const stale = others.some((l) => formatExpiry(l, now).tone === "stale");
  const inherited = others.find((l) => l.inherited && l.root);
  const plural = others.length > 1;

  return (
    <ConfirmDialog
      title={`Force unlock “${name}”?`}
      confirmLabel="Force unlock"
      busyLabel="Forcing unlock…"
      danger
      onCancel={props.onClose}
      {...focusBack(props)}
      onConfirm={async () => props.onDone(await ipc.forceUnlock(file.server, file.path))}
    >
      {warning ? (
        <p class="warning-text" data-source="engine">
          <strong>{displaySafe(warning)}</strong>
        </p>
      ) : (
        <p class="warning-text">
          {anonymous ? "Someone" : holders} {plural ? "have" : "has"} this file open
          {editors.length > 0 ? ` in ${editors.join(", ")}` : ""}.{" "}
          <strong>
            If you force the lock open, {anonymous ? "they" : plural ? "they" : "this person"} may lose unsaved work
          </strong>
          .
        </p>
      )}
      <p>Their next save can fail or end up as a separate, conflicting copy.</p>
      {anonymous && <p class="muted">{WOPI_HOLDER_NOTE}</p>}
      {stale && <p>The lock has expired and looks stale, so the holder has probably stopped working on it.</p>}
      {inherited && (
        <p>
          The lock is inherited from the folder <span class="mono">{displaySafe(inherited.root)}</span>; forcing it
          unlocks everything in that folder.
        </p>
      )}
      {caps.can_force_unlock === "unknown" && (
        <p class="muted">This server does not say whether it allows forced unlocks; it may refuse.</p>
      )}
      <p>Only do this when you are sure they are done, for example after asking them.</p>
    </ConfirmDialog>
  );
}

export function AskDialog(props: FileDialogProps & { lock: Lock; onSent: (sentence: string) => void }) {
  const { file, lock } = props;
  const [channels, setChannels] = useState<AskChannel[] | null>(null);
  const [via, setVia] = useState<AskChannel | null>(null);
  const holder = lockHolderName(lock);
  const name = displaySafe(baseName(file.path));
  // Empty: the engine's message (the config's `ask_message`, or its standard one) goes out.
  const [message, setMessage] = useState("");
  const { busy, error, run } = usePending();
  const loading = usePending();
  const messageId = useId();

  useEffect(() => {
    void loading.run(async () => {
      const offered = await ipc.askChannels(file.server, file.path);
      setChannels(offered);
      setVia(offered[0] ?? null);
    });
    // Ask once per opened file.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [file.server, file.path]);

  const send = async (e: Event) => {
    e.preventDefault();
    if (!via) return;
    const sent = await run(() => ipc.askToRelease(file.server, file.path, via, message));
    if (sent !== undefined) {
      props.onSent(sent.message);
      props.onClose();
    }
  };

  return (
    <Dialog
      title={`Ask ${holder} to release “${name}”`}
      onCancel={props.onClose}
      initialFocus="textarea"
      {...focusBack(props)}
    >
      <form class="form" onSubmit={(e) => void send(e)}>
        {loading.error && <ErrorNote error={loading.error} class="dialog-error" />}
        {!loading.error && channels === null && <p class="muted">Finding ways to reach {holder}…</p>}
        {channels !== null && channels.length === 0 && (
          <p class="muted" role="note">
            Lockwatch has no way to reach {holder} on this server. Add their e-mail address under{" "}
            <code>[servers.ask] emails</code> in the config file, or a webhook; on Nextcloud, Talk and comments
            need the holder's user id.
          </p>
        )}
        {channels !== null && channels.length > 0 && (
          <>
            <fieldset class="channel-choice">
              <legend>Send via</legend>
              {channels.map((c) => (
                <label key={c} class="radio">
                  <input type="radio" name="via" value={c} checked={via === c} onChange={() => setVia(c)} />
                  {ASK_CHANNEL_LABEL[c]}
                </label>
              ))}
            </fieldset>
            {via && (
              <p class="muted channel-note" aria-live="polite">
                {ASK_CHANNEL_NOTE[via]}
              </p>
            )}
            <label for={messageId}>Message</label>
            <textarea
              id={messageId}
              rows={4}
              value={message}
              placeholder={`Leave empty for the standard request: “Hi ${holder}, could you release ${name} when you get a moment? …”`}
              onInput={(e) => setMessage(e.currentTarget.value)}
            />
          </>
        )}
        {error && <ErrorNote error={error} class="dialog-error" />}
        <div class="dialog-actions">
          <button type="button" onClick={props.onClose}>
            Cancel
          </button>
          <button type="submit" class="primary" disabled={busy || !via}>
            {busy ? "Sending…" : via === "mail" ? "Write e-mail" : "Send"}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

export function HistoryDialog(props: FileDialogProps) {
  const { file } = props;
  const now = useNow();
  const [entries, setEntries] = useState<Hold[] | null>(null);
  const { error, run } = usePending();

  useEffect(() => {
    void run(async () => setEntries(await ipc.history(file.server, file.path)));
    // Load once per opened file.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [file.server, file.path]);

  const name = displaySafe(baseName(file.path));
  return (
    <Dialog
      title={`History of “${name}”`}
      onCancel={props.onClose}
      wide
      {...focusBack(props)}
      actions={
        <button type="button" onClick={props.onClose}>
          Close
        </button>
      }
    >
      <p class="muted" title={displaySafe(file.path)}>
        {displaySafe(file.server)} · <span class="mono">{displaySafe(file.path)}</span>
      </p>
      {error && <ErrorNote error={error} />}
      {!error && entries === null && <p class="muted">Loading history…</p>}
      {entries && entries.length === 0 && <p class="empty-inline">Nobody has locked this file since Lockwatch started watching it.</p>}
      {entries && entries.length > 0 && (
        <div class="history-scroll">
          <table class="history-table" aria-label={`Lock history of ${name}`}>
            <thead>
              <tr>
                <th scope="col">Holder</th>
                <th scope="col">Editor</th>
                <th scope="col">From</th>
                <th scope="col">To</th>
                <th scope="col">Held for</th>
              </tr>
            </thead>
            <tbody>
              {entries.map((h, i) => {
                const from = parseTime(h.from);
                const to = parseTime(h.until);
                const holder = displaySafe(h.holder ?? h.holder_id) || "Unknown";
                return (
                  <tr key={i}>
                    <td>
                      <span class="truncate" title={h.holder_id ? displaySafe(h.holder_id) : holder}>
                        {holder}
                      </span>
                    </td>
                    <td>
                      <span class="truncate" title={displaySafe(h.editor)}>
                        {displaySafe(h.editor) || "—"}
                      </span>
                    </td>
                    <td title={from != null ? formatFull(from) : undefined}>
                      {from != null ? formatClock(from, now) : "—"}
                    </td>
                    <td title={to != null ? formatFull(to) : undefined}>
                      {to != null ? formatClock(to, now) : <span class="badge badge-live">still held</span>}
                    </td>
                    <td>
                      {from != null ? formatSpan((to ?? now) - from) : "—"}
                      {h.stale && (
                        <span class="badge badge-stale" title="The lock outlived its timeout before it was released">
                          stale
                        </span>
                      )}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </Dialog>
  );
}
