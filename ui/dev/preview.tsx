// Dev-only: the real app on the fake backend, for looking at it in a browser. Not part of the
// production bundle (vite.config.ts only builds index.html; vite.preview.config.ts builds this).
//
// Query flags: theme=light|dark, scenario=normal|demo|empty|paused, view=servers,
// open=menu|force|ask|history|help|test (opens that UI after load, for screenshots).

import { render } from "preact";

import { App } from "../src/app";
import "../src/styles.css";
import { demoCapabilities, demoHistory, demoServers, demoSnapshot } from "./demo-data";
import { installFakeBackend } from "./fake-backend";

const params = new URLSearchParams(location.search);
const theme = params.get("theme");
if (theme === "dark" || theme === "light") document.documentElement.dataset.theme = theme;

const scenario = params.get("scenario") ?? "normal";
const now = Date.now();
const snapshot = demoSnapshot(now);
if (scenario === "demo") snapshot.demo = true;
if (scenario === "paused") snapshot.paused = true;
if (scenario === "empty") {
  snapshot.servers = [];
  snapshot.files = [];
}

const fake = installFakeBackend({
  snapshot,
  capabilities: demoCapabilities,
  servers: scenario === "empty" ? [] : demoServers,
  history: demoHistory(now),
  latency: 150,
});

// Pretend to poll: the engine pushes a fresh snapshot every few seconds.
setInterval(() => {
  const t = new Date().toISOString();
  fake.state.generated_at = t;
  for (const s of fake.state.servers) if (s.ok) s.checked_at = t;
  void fake.push();
}, 10_000);

const root = document.getElementById("app");
if (root) render(<App />, root);

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));
const click = (selector: string) => document.querySelector<HTMLElement>(selector)?.click();
const rowFor = (name: string) =>
  [...document.querySelectorAll<HTMLElement>("tr.file-row")].find((r) => r.textContent?.includes(name));

async function openRequested() {
  await wait(400);
  if (params.get("view") === "servers") {
    click("#tab-servers");
    await wait(300);
  }
  const open = params.get("open");
  const budget = rowFor("Budget.xlsx");
  switch (open) {
    case "help":
      click('[aria-label="Keyboard shortcuts"]');
      break;
    case "menu":
      budget?.focus();
      budget?.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter", bubbles: true }));
      break;
    case "force":
    case "ask":
    case "history": {
      budget?.querySelector<HTMLElement>("[data-menu-button]")?.click();
      await wait(100);
      const label = open === "force" ? "Force unlock" : open === "ask" ? "Ask to release" : "History";
      [...document.querySelectorAll<HTMLElement>('[role="menuitem"]')].find((m) => m.textContent?.includes(label))?.click();
      break;
    }
    case "test":
      [...document.querySelectorAll<HTMLElement>("button")].find((b) => b.textContent === "Test connection")?.click();
      break;
  }
}
void openRequested();
