// Inline SVG icons (16 px grid, stroke = currentColor). Bundled with the app: no icon fonts, no
// remote content. Icons are decorative (aria-hidden); the control around them carries the label.

import type { ComponentChildren } from "preact";

export type IconName =
  | "bell"
  | "bellOn"
  | "lock"
  | "unlock"
  | "more"
  | "search"
  | "refresh"
  | "pause"
  | "play"
  | "help"
  | "server"
  | "alert"
  | "key"
  | "offline"
  | "missing"
  | "busy"
  | "file"
  | "folder"
  | "chevron"
  | "close"
  | "check"
  | "history"
  | "plus"
  | "trash"
  | "message"
  | "shield"
  | "link"
  | "user";

const PATHS: Record<IconName, ComponentChildren> = {
  bell: <path d="M4 11V7a4 4 0 0 1 8 0v4l1.5 1.5h-11L4 11ZM6.5 14a1.5 1.5 0 0 0 3 0" />,
  bellOn: (
    <>
      <path class="fill" d="M4 11V7a4 4 0 0 1 8 0v4l1.5 1.5h-11L4 11Z" />
      <path d="M6.5 14a1.5 1.5 0 0 0 3 0" />
    </>
  ),
  lock: (
    <>
      <rect x="3.5" y="7" width="9" height="7" rx="1.5" />
      <path d="M5.5 7V5a2.5 2.5 0 0 1 5 0v2" />
    </>
  ),
  unlock: (
    <>
      <rect x="3.5" y="7" width="9" height="7" rx="1.5" />
      <path d="M5.5 7V5a2.5 2.5 0 0 1 4.9-.7" />
    </>
  ),
  more: (
    <>
      <circle class="fill" cx="3.5" cy="8" r="1.1" />
      <circle class="fill" cx="8" cy="8" r="1.1" />
      <circle class="fill" cx="12.5" cy="8" r="1.1" />
    </>
  ),
  search: (
    <>
      <circle cx="7" cy="7" r="4" />
      <path d="m10 10 3.5 3.5" />
    </>
  ),
  refresh: <path d="M13 8a5 5 0 1 1-1.5-3.6M13 2.5V5h-2.5" />,
  pause: <path d="M5.5 3.5v9M10.5 3.5v9" />,
  play: <path d="M5 3.5v9l7-4.5-7-4.5Z" />,
  help: (
    <>
      <circle cx="8" cy="8" r="6" />
      <path d="M6.3 6.3a1.8 1.8 0 1 1 2.4 1.7c-.5.2-.7.6-.7 1.1v.4" />
      <circle class="fill" cx="8" cy="11.6" r=".6" />
    </>
  ),
  server: (
    <>
      <rect x="2.5" y="2.5" width="11" height="4.5" rx="1" />
      <rect x="2.5" y="9" width="11" height="4.5" rx="1" />
      <path d="M5 4.75h.01M5 11.25h.01" />
    </>
  ),
  alert: (
    <>
      <path d="M8 2 14.5 13.5h-13L8 2Z" />
      <path d="M8 6.5v3.2M8 11.6v.1" />
    </>
  ),
  key: (
    <>
      <circle cx="5.5" cy="10.5" r="3" />
      <path d="m7.7 8.3 5.8-5.8M11.5 4.5l1.5 1.5" />
    </>
  ),
  offline: (
    <>
      <path d="M4.5 12.5h7a2.5 2.5 0 0 0 .4-5 4 4 0 0 0-7.6-1A3 3 0 0 0 4.5 12.5Z" />
      <path d="m2.5 2.5 11 11" />
    </>
  ),
  missing: (
    <>
      <path d="M4 1.5h5.5L12.5 4.5v10H4Z" />
      <path d="M6.5 7.5 10 11M10 7.5 6.5 11" />
    </>
  ),
  busy: (
    <>
      <circle cx="8" cy="8" r="6" />
      <path d="M8 4.5V8l2.5 1.5" />
    </>
  ),
  file: (
    <>
      <path d="M4 1.5h5.5L12.5 4.5v10H4Z" />
      <path d="M9.5 1.5v3h3" />
    </>
  ),
  folder: <path d="M1.5 4a1 1 0 0 1 1-1h3.5l1.5 1.5h6a1 1 0 0 1 1 1V12a1 1 0 0 1-1 1h-11a1 1 0 0 1-1-1Z" />,
  chevron: <path d="m6 4 4 4-4 4" />,
  close: <path d="m4 4 8 8M12 4l-8 8" />,
  check: <path d="m3 8.5 3 3 7-7" />,
  history: (
    <>
      <path d="M2.5 8a5.5 5.5 0 1 0 1.6-3.9M2.5 2.5v2.5H5" />
      <path d="M8 5v3l2 1.5" />
    </>
  ),
  plus: <path d="M8 3v10M3 8h10" />,
  trash: <path d="M3 4.5h10M6.5 4.5V3h3v1.5M4.5 4.5l.7 9h5.6l.7-9" />,
  message: <path d="M2.5 3.5h11v7.5H7l-3 2.5V11H2.5Z" />,
  shield: <path d="M8 1.5 13 3.5V8c0 3-2.2 5.3-5 6.5C5.2 13.3 3 11 3 8V3.5Z" />,
  link: <path d="M7 9a2.5 2.5 0 0 0 3.5 0l2-2A2.5 2.5 0 0 0 9 3.5l-.7.7M9 7a2.5 2.5 0 0 0-3.5 0l-2 2A2.5 2.5 0 0 0 7 12.5l.7-.7" />,
  user: (
    <>
      <circle cx="8" cy="5.5" r="2.5" />
      <path d="M3 13.5a5 5 0 0 1 10 0" />
    </>
  ),
};

export function Icon({ name, class: cls }: { name: IconName; class?: string }) {
  return (
    <svg
      class={cls ? `icon ${cls}` : "icon"}
      viewBox="0 0 16 16"
      width="16"
      height="16"
      aria-hidden="true"
      focusable="false"
    >
      {PATHS[name]}
    </svg>
  );
}
