// Renders the real <App/> on the fake backend (mockIPC underneath), so every test goes through
// src/ipc.ts exactly as the Tauri shell will.

import { render, screen, within } from "@testing-library/preact";
import userEvent from "@testing-library/user-event";
import { vi } from "vitest";

import { demoCapabilities, demoHistory, demoServers, demoSnapshot } from "../dev/demo-data";
import { installFakeBackend, type FakeOptions } from "../dev/fake-backend";
import { App } from "../src/app";
import type { Snapshot } from "../src/bindings/Snapshot";

export const NOW = Date.parse("2025-06-02T10:00:00Z");

export function demo(now = NOW): Snapshot {
  return demoSnapshot(now);
}

export async function renderApp(options: Partial<FakeOptions> & { snapshot?: Snapshot } = {}) {
  // Freeze the clock at NOW (timers stay real so waitFor works) unless the test runs its own.
  if (!vi.isFakeTimers()) {
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(NOW);
  }
  const fake = installFakeBackend({
    snapshot: options.snapshot ?? demo(),
    capabilities: options.capabilities ?? demoCapabilities,
    servers: options.servers ?? demoServers,
    history: options.history ?? demoHistory(NOW),
    ...(options.askChannels ? { askChannels: options.askChannels } : {}),
    ...(options.focus ? { focus: options.focus } : {}),
  });
  const user = userEvent.setup();
  const view = render(<App />);
  await screen.findByRole("tab", { name: /Locks/ });
  if ((options.snapshot ?? demo()).files.length > 0) await screen.findByRole("table", { name: /Watched files/ });
  return { fake, user, ...view };
}

/** The data row for a file, found by its visible name. */
export function row(name: string): HTMLElement {
  const rows = screen.getAllByRole("row").filter((r) => r.classList.contains("file-row"));
  const found = rows.find((r) => within(r).queryByText(name, { exact: true }));
  if (!found) throw new Error(`no row for ${name}; rows: ${rows.map((r) => r.getAttribute("aria-label")).join(" | ")}`);
  return found;
}

/** File names of the data rows, top to bottom. */
export function fileOrder(): string[] {
  return [...document.querySelectorAll("tr.file-row .file-name")].map((el) => el.textContent ?? "");
}

/** Let pending IPC promises settle. */
export const settle = () => new Promise((r) => setTimeout(r, 0));
