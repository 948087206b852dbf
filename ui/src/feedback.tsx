// How the app talks back: inline error notes, toasts for action outcomes, and the screen-reader
// live region. Errors are shown with the engine's `message` (written for a person); `kind` only
// picks the icon, colour and a short heading.

import { createContext } from "preact";
import { useCallback, useContext, useEffect, useRef, useState } from "preact/hooks";

import type { ErrorInfo } from "./bindings/ErrorInfo";
import { Icon, type IconName } from "./icons";
import { IpcError } from "./ipc";
import { displaySafe, ERROR_KIND_LABEL, errorLook, type ErrorLook } from "./text";

const LOOK_ICON: Record<ErrorLook, IconName> = {
  auth: "key",
  offline: "offline",
  missing: "missing",
  busy: "busy",
  broken: "alert",
};

export function ErrorNote({ error, id, class: cls }: { error: ErrorInfo; id?: string; class?: string }) {
  const look = errorLook(error.kind);
  const message = displaySafe(error.message);
  return (
    <div id={id} class={`error-note look-${look}${cls ? ` ${cls}` : ""}`} data-kind={error.kind} title={message}>
      <Icon name={LOOK_ICON[look]} />
      <span class="error-text">
        <strong class="error-kind">{ERROR_KIND_LABEL[error.kind]}:</strong> {message}
      </span>
    </div>
  );
}

export interface Toast {
  id: number;
  tone: "ok" | "error";
  text: string;
  error?: ErrorInfo;
}

export interface Feedback {
  /** A finished action: show its one-sentence outcome. */
  done(text: string): void;
  /** A failed action: anything thrown is normalised to `{ kind, message }`. */
  failed(error: unknown): void;
  /** Say something to screen readers only. */
  announce(text: string): void;
}

const noop: Feedback = { done() {}, failed() {}, announce() {} };
export const FeedbackContext = createContext<Feedback>(noop);
export const useFeedback = () => useContext(FeedbackContext);

const OK_MS = 6000;
const ERROR_MS = 12000;

export function useToasts() {
  const [toasts, setToasts] = useState<Toast[]>([]);
  const [announcement, setAnnouncement] = useState("");
  const next = useRef(1);
  const timers = useRef(new Map<number, ReturnType<typeof setTimeout>>());

  const dismiss = useCallback((id: number) => {
    const t = timers.current.get(id);
    if (t) clearTimeout(t);
    timers.current.delete(id);
    setToasts((list) => list.filter((x) => x.id !== id));
  }, []);

  const push = useCallback(
    (toast: Omit<Toast, "id">) => {
      const id = next.current++;
      setToasts((list) => [...list.slice(-3), { ...toast, id }]);
      timers.current.set(
        id,
        setTimeout(() => dismiss(id), toast.tone === "error" ? ERROR_MS : OK_MS),
      );
    },
    [dismiss],
  );

  useEffect(() => {
    const all = timers.current;
    return () => all.forEach((t) => clearTimeout(t));
  }, []);

  const feedback: Feedback = {
    done: (text) => push({ tone: "ok", text }),
    failed: (raw) => {
      const e = IpcError.from(raw);
      push({ tone: "error", text: e.message, error: { kind: e.kind, message: e.message } });
    },
    announce: (text) => setAnnouncement(text),
  };

  return { toasts, dismiss, feedback, announcement };
}

export function Toasts({ toasts, dismiss }: { toasts: Toast[]; dismiss: (id: number) => void }) {
  return (
    <div class="toasts" aria-label="Notifications">
      {toasts.map((t) => (
        <div key={t.id} class={`toast toast-${t.tone}`} role={t.tone === "error" ? "alert" : "status"}>
          {t.error ? <ErrorNote error={t.error} /> : <span class="toast-text">{displaySafe(t.text)}</span>}
          <button type="button" class="icon-button" aria-label="Dismiss" onClick={() => dismiss(t.id)}>
            <Icon name="close" />
          </button>
        </div>
      ))}
    </div>
  );
}

/** Polite announcements ("Budget.xlsx is free") for screen readers; visually hidden. */
export function LiveRegion({ text }: { text: string }) {
  return (
    <div class="visually-hidden" role="status" aria-live="polite" aria-atomic="true" data-testid="live-region">
      {text}
    </div>
  );
}
