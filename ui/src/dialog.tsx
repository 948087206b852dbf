// A modal dialog: focus moves in, Tab stays in, Escape cancels, and focus goes back to where it
// came from when it closes. Written by hand rather than with <dialog>.showModal() so it behaves
// the same in WebKitGTK, Chromium and jsdom (where the tests run).

import type { ComponentChildren } from "preact";
import { useEffect, useId, useLayoutEffect, useRef, useState } from "preact/hooks";

import type { ErrorInfo } from "./bindings/ErrorInfo";
import { ErrorNote } from "./feedback";
import { IpcError } from "./ipc";

const FOCUSABLE =
  'a[href], button:not([disabled]), input:not([disabled]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';

export interface DialogProps {
  title: ComponentChildren;
  children: ComponentChildren;
  onCancel: () => void;
  /** Footer buttons. */
  actions?: ComponentChildren;
  /** "alertdialog" for confirmations that warn about consequences. */
  role?: "dialog" | "alertdialog";
  /** CSS selector of the element to focus first (defaults to the first focusable). */
  initialFocus?: string;
  /** Where focus goes on close; defaults to whatever had focus when the dialog opened. */
  returnFocus?: () => HTMLElement | null;
  wide?: boolean;
}

export function Dialog(props: DialogProps) {
  const { title, children, onCancel, actions, role = "dialog", initialFocus, wide } = props;
  const box = useRef<HTMLDivElement>(null);
  const titleId = useId();
  const bodyId = useId();
  const opener = useRef<Element | null>(typeof document === "undefined" ? null : document.activeElement);
  const returnFocus = useRef(props.returnFocus);
  returnFocus.current = props.returnFocus;

  // One effect owns focus for the dialog's lifetime, so teardown happens in a known order:
  // stop trapping first, then hand focus back.
  useLayoutEffect(() => {
    const root = box.current;
    if (!root) return;
    const first =
      (initialFocus ? root.querySelector<HTMLElement>(initialFocus) : null) ??
      root.querySelector<HTMLElement>(FOCUSABLE) ??
      root;
    first.focus();
    // Keep focus inside while open, even if something outside is clicked.
    const onFocusIn = (e: FocusEvent) => {
      if (e.target instanceof Node && !root.contains(e.target)) {
        root.querySelector<HTMLElement>(FOCUSABLE)?.focus();
      }
    };
    document.addEventListener("focusin", onFocusIn);
    return () => {
      document.removeEventListener("focusin", onFocusIn);
      const back = returnFocus.current?.() ?? opener.current;
      if (back instanceof HTMLElement && back.isConnected) back.focus();
    };
    // Focus once on open; the selector is fixed for a dialog's lifetime.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  const onKeyDown = (e: KeyboardEvent) => {
    if (e.key === "Escape") {
      e.preventDefault();
      e.stopPropagation();
      onCancel();
      return;
    }
    if (e.key !== "Tab" || !box.current) return;
    const items = [...box.current.querySelectorAll<HTMLElement>(FOCUSABLE)];
    const first = items[0];
    const last = items[items.length - 1];
    if (!first || !last) {
      e.preventDefault();
      return;
    }
    const active = document.activeElement;
    if (e.shiftKey && (active === first || active === box.current)) {
      e.preventDefault();
      last.focus();
    } else if (!e.shiftKey && active === last) {
      e.preventDefault();
      first.focus();
    }
  };

  return (
    <div class="backdrop">
      <div
        ref={box}
        class={wide ? "dialog dialog-wide" : "dialog"}
        role={role}
        aria-modal="true"
        aria-labelledby={titleId}
        aria-describedby={bodyId}
        tabIndex={-1}
        onKeyDown={onKeyDown}
      >
        <h2 id={titleId} class="dialog-title">
          {title}
        </h2>
        <div id={bodyId} class="dialog-body">
          {children}
        </div>
        {actions && <div class="dialog-actions">{actions}</div>}
      </div>
    </div>
  );
}

/** Runs an async action from a dialog: tracks "busy" and keeps the error to show inside it. */
export function usePending() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ErrorInfo | null>(null);
  const alive = useRef(true);
  useEffect(
    () => () => {
      alive.current = false;
    },
    [],
  );
  const run = async <T,>(work: () => Promise<T>): Promise<T | undefined> => {
    setBusy(true);
    setError(null);
    try {
      return await work();
    } catch (raw) {
      const e = IpcError.from(raw);
      if (alive.current) setError({ kind: e.kind, message: e.message });
      return undefined;
    } finally {
      if (alive.current) setBusy(false);
    }
  };
  return { busy, error, run };
}

export interface ConfirmProps {
  title: ComponentChildren;
  children: ComponentChildren;
  confirmLabel: string;
  busyLabel?: string;
  danger?: boolean;
  onConfirm: () => Promise<unknown>;
  onCancel: () => void;
  returnFocus?: () => HTMLElement | null;
}

/**
 * Asks before doing something that cannot be undone. Cancel has focus first, so a reflexive Enter
 * does nothing harmful; a failure stays in the dialog next to the button that caused it.
 */
export function ConfirmDialog(props: ConfirmProps) {
  const { busy, error, run } = usePending();
  const confirm = async () => {
    let ok = false;
    await run(async () => {
      await props.onConfirm();
      ok = true;
    });
    if (ok) props.onCancel();
  };
  return (
    <Dialog
      title={props.title}
      role="alertdialog"
      onCancel={props.onCancel}
      initialFocus="[data-cancel]"
      {...(props.returnFocus ? { returnFocus: props.returnFocus } : {})}
      actions={
        <>
          <button type="button" data-cancel onClick={props.onCancel}>
            Cancel
          </button>
          <button
            type="button"
            class={props.danger ? "danger" : "primary"}
            disabled={busy}
            onClick={() => void confirm()}
          >
            {busy ? (props.busyLabel ?? "Working…") : props.confirmLabel}
          </button>
        </>
      }
    >
      {props.children}
      {error && <ErrorNote error={error} class="dialog-error" />}
    </Dialog>
  );
}
