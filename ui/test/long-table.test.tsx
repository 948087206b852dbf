// A table of 10,000 files: only the rows in view are in the DOM, yet keyboard navigation, a
// notification's "reveal this row", menus and dialogs work over all of them.
//
// jsdom lays nothing out, so the table sees the fallback viewport (FALLBACK_VIEWPORT px) and the
// row heights styles.css gives (a one-line row 29 px, the first group header 31 px); scrolling is
// setting scrollTop and sending the scroll event, as a browser does.

import { act, fireEvent, screen, waitFor, within } from "@testing-library/preact";
import { describe, expect, it } from "vitest";

import { demoCapabilities, file, lock, server } from "../dev/demo-data";
import type { Snapshot } from "../src/bindings/Snapshot";
import { FALLBACK_VIEWPORT, OVERSCAN } from "../src/locks";
import { demo, renderApp, row } from "./render";

const FILES = 10_000;
const ROW = 29;
const GROUP = 31;
/** What may be in the DOM: a viewport of rows, the overscan on both sides, and a few pinned rows. */
const MAX_RENDERED = Math.ceil(FALLBACK_VIEWPORT / ROW) + 2 * OVERSCAN + 4;

const name = (i: number) => `file${String(i).padStart(4, "0")}.odt`;
const path = (i: number) => `/folder${Math.floor(i / 1000)}/${name(i)}`;

function big(): Snapshot {
  return {
    ...demo(),
    servers: [server("Big")],
    files: Array.from({ length: FILES }, (_, i) =>
      file("Big", path(i), i === 4321 ? { locks: [lock({ owner: "Colleague" })] } : {}),
    ),
  };
}

const capabilities = { Big: { ...demoCapabilities["Team Nextcloud"]!, server: "Big" } };

const scroller = () => document.querySelector<HTMLElement>(".table-scroll")!;
const table = () => screen.getByRole("table", { name: /Watched files/ });
/** The body rows in the DOM (spacers are hidden from assistive technology and not counted). */
const bodyRows = () => within(table()).getAllByRole("row").filter((r) => r.closest("tbody"));
const fileRows = () => bodyRows().filter((r) => r.classList.contains("file-row"));
const indexOf = (el: Element | null) => Number(el?.getAttribute("aria-rowindex"));
const scrollTo = (y: number) =>
  act(() => {
    scroller().scrollTop = y;
    fireEvent.scroll(scroller());
  });

// Ten thousand rows through sort, filter and IPC take a few seconds in jsdom on a busy machine.
describe("a table of 10,000 files", { timeout: 30_000 }, () => {
  it("renders only the rows in view, states the real size, and keeps the scroll height of all rows", async () => {
    await renderApp({ snapshot: big(), capabilities });
    // Header row + group header + 10,000 files.
    expect(table()).toHaveAttribute("aria-rowcount", String(FILES + 2));
    expect(within(table()).getAllByRole("row")[0]).toHaveAttribute("aria-rowindex", "1");
    expect(bodyRows().length).toBeGreaterThan(FALLBACK_VIEWPORT / ROW - 2);
    expect(bodyRows().length).toBeLessThanOrEqual(MAX_RENDERED);
    // The only locked file sorts first (by state), then the rest by name.
    expect(bodyRows().map(indexOf).slice(0, 3)).toEqual([2, 3, 4]);
    expect(fileRows()[0]).toHaveAccessibleName(`${name(4321)}, Locked`);

    await scrollTo(5000 * ROW);
    const indexes = bodyRows().map(indexOf);
    // The first group header stays (it holds the tab stop); the rest is the window around row 5,000.
    const window = indexes.filter((i) => i > 2);
    expect(window.length).toBeLessThanOrEqual(MAX_RENDERED);
    expect(window).toEqual(window.map((_, k) => (window[0] ?? 0) + k));
    expect(window[0]).toBeLessThanOrEqual(5000 + 1 - OVERSCAN + 2);
    expect(window.at(-1)).toBeGreaterThan(5000 + FALLBACK_VIEWPORT / ROW);
    expect(fileRows().map((r) => r.getAttribute("aria-label"))).toContain(`${name(5010)}, Free`);

    // Spacers stand in for the rows not rendered: the body is as tall as all its rows.
    const spacers = [...document.querySelectorAll<HTMLElement>("tr.spacer-row td")].map((td) =>
      parseFloat(td.style.height),
    );
    expect(spacers.length).toBe(2);
    const renderedFiles = fileRows().length;
    expect(spacers.reduce((a, b) => a + b, 0) + GROUP + renderedFiles * ROW).toBe(GROUP + FILES * ROW);
  });

  it("moves the focus over all rows with End, Home, PageDown, PageUp and arrows, rendering each first", async () => {
    const { user } = await renderApp({ snapshot: big(), capabilities });
    fileRows()[0]?.focus();

    await user.keyboard("{End}");
    const last = document.activeElement;
    expect(last).toHaveAccessibleName(`${name(FILES - 1)}, Free`);
    expect(indexOf(last)).toBe(FILES + 2);
    expect(scroller().scrollTop).toBe(GROUP + FILES * ROW - (FALLBACK_VIEWPORT - 27));
    expect(bodyRows().length).toBeLessThanOrEqual(MAX_RENDERED);
    // The window followed: the rows above the last one are there to arrow into.
    await user.keyboard("{ArrowUp}{ArrowUp}");
    expect(document.activeElement).toHaveAccessibleName(`${name(FILES - 3)}, Free`);

    await user.keyboard("{Home}");
    expect(document.activeElement).toHaveClass("group-row");
    expect(scroller().scrollTop).toBe(0);

    await user.keyboard("{PageDown}");
    const page = indexOf(document.activeElement) - 2;
    // A page is a viewport of one-line rows, less one.
    expect(page).toBe(Math.floor((FALLBACK_VIEWPORT - 27) / ROW) - 1);
    await user.keyboard("{PageDown}{PageDown}{PageDown}");
    expect(indexOf(document.activeElement)).toBe(2 + 4 * page);
    expect(scroller().scrollTop).toBeGreaterThan(0);
    await user.keyboard("{PageUp}");
    expect(indexOf(document.activeElement)).toBe(2 + 3 * page);
    expect(document.activeElement).toHaveAttribute("tabindex", "0");
  });

  it("keeps the focused row focused while it is scrolled far out of view and back", async () => {
    const { user } = await renderApp({ snapshot: big(), capabilities });
    fileRows()[0]?.focus();
    await user.keyboard("{ArrowDown}{ArrowDown}");
    const focused = document.activeElement;
    expect(focused).toHaveAccessibleName(`${name(1)}, Free`);

    await scrollTo(7000 * ROW);
    expect(fileRows().map((r) => r.getAttribute("aria-label"))).toContain(`${name(7005)}, Free`);
    expect(focused?.isConnected).toBe(true);
    expect(document.activeElement).toBe(focused);
    expect(bodyRows().length).toBeLessThanOrEqual(MAX_RENDERED);

    await scrollTo(0);
    expect(document.activeElement).toBe(focused);
    // Keys act on it where it is, and the window comes back to it.
    await scrollTo(3000 * ROW);
    await user.keyboard("{ArrowDown}");
    expect(document.activeElement).toHaveAccessibleName(`${name(2)}, Free`);
    expect(scroller().scrollTop).toBeLessThan(10 * ROW);
  });

  it("reveals a far-away row on a notification click: scrolled to the middle, focused and flashed", async () => {
    const { fake } = await renderApp({ snapshot: big(), capabilities });
    await act(() => fake.focus("Big", path(9000)));
    await waitFor(() => expect(document.activeElement).toHaveAccessibleName(`${name(9000)}, Free`));
    expect(document.activeElement).toHaveClass("flash");
    // Row 9,000 of the body (after the group header and the locked file): centred in the viewport.
    const top = GROUP + 9000 * ROW;
    expect(scroller().scrollTop).toBe(Math.round(top - (FALLBACK_VIEWPORT - 27 - ROW) / 2));
    expect(bodyRows().length).toBeLessThanOrEqual(MAX_RENDERED);
  });

  it("reveals a row in a collapsed group or hidden by the filter: expands, clears the filter, focuses", async () => {
    const { fake, user } = await renderApp({ snapshot: big(), capabilities });
    await user.click(screen.getByRole("button", { name: "Big: collapse" }));
    expect(fileRows()).toHaveLength(0);
    await act(() => fake.focus("Big", path(8123)));
    await waitFor(() => expect(document.activeElement).toHaveAccessibleName(`${name(8123)}, Free`));
    await scrollTo(0);
    expect(screen.getByRole("button", { name: "Big: collapse" })).toHaveAttribute("aria-expanded", "true");

    await user.type(screen.getByRole("searchbox", { name: "Filter files" }), "file0042");
    expect(fileRows().map((r) => r.getAttribute("aria-label"))).toEqual([`${name(42)}, Free`]);
    expect(table()).toHaveAttribute("aria-rowcount", "3");
    await act(() => fake.focus("Big", path(6666)));
    await waitFor(() => expect(document.activeElement).toHaveAccessibleName(`${name(6666)}, Free`));
    expect(screen.getByRole("searchbox", { name: "Filter files" })).toHaveValue("");
    expect(table()).toHaveAttribute("aria-rowcount", String(FILES + 2));
  });

  it("keeps a row's menu and dialog working when the row is scrolled away", async () => {
    const { fake, user } = await renderApp({ snapshot: big(), capabilities });
    await waitFor(() => expect(fake.callsOf("capabilities")).toHaveLength(1));
    const target = row(name(4321));
    await user.click(within(target).getByRole("button", { name: `More actions for ${name(4321)}` }));
    const menu = screen.getByRole("menu", { name: `Actions for ${name(4321)}` });

    // The row scrolls far away with its menu open: the menu still acts on it.
    await scrollTo(6000 * ROW);
    await user.click(within(menu).getByRole("menuitem", { name: /Force unlock/ }));
    const dialog = screen.getByRole("alertdialog", { name: `Force unlock “${name(4321)}”?` });
    await scrollTo(9000 * ROW);
    expect(dialog).toBeInTheDocument();

    // Cancel hands focus back to the row, brought back into view.
    await user.click(within(dialog).getByRole("button", { name: "Cancel" }));
    expect(screen.queryByRole("alertdialog")).toBeNull();
    await waitFor(() => expect(document.activeElement).toHaveAccessibleName(`${name(4321)}, Locked`));
    expect(scroller().scrollTop).toBe(GROUP);

    // Confirming after another scroll reaches the engine for the right file.
    await user.click(within(row(name(4321))).getByRole("button", { name: `More actions for ${name(4321)}` }));
    await user.click(within(screen.getByRole("menu")).getByRole("menuitem", { name: /Force unlock/ }));
    await scrollTo(5000 * ROW);
    await user.click(within(screen.getByRole("alertdialog")).getByRole("button", { name: "Force unlock" }));
    await waitFor(() => expect(fake.callsOf("force_unlock")).toHaveLength(1));
    expect(fake.callsOf("force_unlock")[0]?.args).toEqual({ server: "Big", path: path(4321) });
  });
});
