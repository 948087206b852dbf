import { emit } from "@tauri-apps/api/event";
import { act, fireEvent, screen, waitFor, within } from "@testing-library/preact";
import { describe, expect, it, vi } from "vitest";

import { file, lock, server } from "../dev/demo-data";
import type { Snapshot } from "../src/bindings/Snapshot";
import { demo, fileOrder, NOW, renderApp, row, settle } from "./render";

const ungroup = async (user: { click: (el: Element) => Promise<void> }) =>
  user.click(screen.getByRole("button", { name: /Group by server/ }));

describe("lock table", () => {
  it("shows holder, user id on hover, editor, lock type and all holders of shared locks", async () => {
    await renderApp();
    const budget = row("Budget.xlsx");
    expect(within(budget).getByText("Anna Schmidt").closest("[title]")).toHaveAttribute("title", "anna.schmidt");
    expect(within(budget).getByText("Nextcloud Office")).toBeInTheDocument();
    expect(within(budget).getByText("Exclusive · User")).toBeInTheDocument();

    const msa = row("Acme MSA 2025.docx");
    expect(within(msa).getByText("Chris Weber")).toBeInTheDocument();
    expect(within(msa).getByText("Dana Ilić")).toBeInTheDocument();
    expect(within(msa).getAllByText("Shared · WebDAV")).toHaveLength(2);

    const nda = row("NDA template.docx");
    expect(within(nda).getByText(/inherited from a folder lock/)).toBeInTheDocument();
    expect(within(nda).getByText("expired 2 min ago — stale")).toBeInTheDocument();

    const pipeline = row("Pipeline.xlsx");
    expect(within(pipeline).getByText("Unknown (WOPI)").closest("[title]")?.getAttribute("title")).toMatch(
      /WOPI protocol does not reveal who holds the lock/,
    );
    expect(within(row("Launch plan.docx")).getByText("never")).toBeInTheDocument();
    expect(within(row("Brand guidelines v7 final FINAL (really final) – approved by legal.pdf")).getByText("Locked by you")).toBeInTheDocument();
  });

  it("sorts by a clicked column header, toggles direction, and marks it with aria-sort", async () => {
    const { user } = await renderApp();
    await ungroup(user);
    const holderHeader = screen.getByRole("columnheader", { name: /Holder/ });
    expect(holderHeader).not.toHaveAttribute("aria-sort");

    await user.click(within(holderHeader).getByRole("button"));
    expect(holderHeader).toHaveAttribute("aria-sort", "ascending");
    const asc = fileOrder();
    expect(asc.slice(0, 3)).toEqual(["Budget.xlsx", "Launch plan.docx", "Acme MSA 2025.docx"]);

    await user.click(within(holderHeader).getByRole("button"));
    expect(holderHeader).toHaveAttribute("aria-sort", "descending");
    const desc = fileOrder();
    expect(desc.slice(0, 2)).toEqual(["Brand guidelines v7 final FINAL (really final) – approved by legal.pdf", "NDA template.docx"]);
    // Rows without a holder stay at the bottom in both directions.
    expect(asc.slice(-6).sort()).toEqual(desc.slice(-6).sort());
    expect(desc.slice(-6)).toContain("Forecast Q3.xlsx");

    await user.click(within(screen.getByRole("columnheader", { name: /Expires/ })).getByRole("button"));
    expect(holderHeader).not.toHaveAttribute("aria-sort");
    expect(fileOrder()[0]).toBe("NDA template.docx"); // expired already: soonest
  });

  it("filters by text and by state chips, and says when nothing matches", async () => {
    const { user } = await renderApp();
    const search = screen.getByRole("searchbox", { name: "Filter files" });
    await user.type(search, "weber");
    expect(fileOrder()).toEqual(["Acme MSA 2025.docx"]);

    await user.clear(search);
    await user.click(screen.getByRole("button", { name: /^Free/ }));
    expect(screen.getByRole("button", { name: /^Free/ })).toHaveAttribute("aria-pressed", "true");
    expect(fileOrder().sort()).toEqual(["Acme MSA signed.pdf", "Forecast Q3.xlsx", "Pricing 2025.pptx"]);

    await user.click(screen.getByRole("button", { name: /^Error/ }));
    expect(fileOrder()).toHaveLength(5);

    await user.type(search, "no such file");
    expect(screen.getByText("No files match")).toBeInTheDocument();
    await user.click(screen.getByRole("button", { name: "Clear filters" }));
    expect(fileOrder()).toHaveLength(12);
  });

  it("groups by server with collapsible groups, or shows a server column when ungrouped", async () => {
    const { user } = await renderApp();
    const groupToggle = screen.getByRole("button", { name: "Legal DAV: collapse" });
    expect(screen.queryByRole("columnheader", { name: /Server/ })).toBeNull();
    expect(fileOrder()).toContain("NDA template.docx");

    await user.click(groupToggle);
    expect(fileOrder()).not.toContain("NDA template.docx");
    expect(screen.getByRole("button", { name: "Legal DAV: expand" })).toHaveAttribute("aria-expanded", "false");
    expect(fileOrder()).toContain("Budget.xlsx");

    await ungroup(user);
    expect(screen.getByRole("columnheader", { name: /Server/ })).toBeInTheDocument();
    expect(fileOrder()).toContain("NDA template.docx");
  });

  it("counts down every second and turns stale when the lock expires", async () => {
    vi.useFakeTimers({ toFake: ["setInterval", "clearInterval", "Date"] });
    vi.setSystemTime(NOW);
    const snap: Snapshot = {
      ...demo(),
      servers: [server("S")],
      files: [
        file("S", "/soon.txt", {
          locks: [lock({ owner: "Kim", expiry: "at", expires_at: new Date(NOW + 62_000).toISOString() })],
        }),
        file("S", "/long.txt", {
          locks: [lock({ owner: "Lee", expiry: "at", expires_at: new Date(NOW + 3 * 3600_000 + 60_000).toISOString() })],
        }),
        file("S", "/never.txt", { locks: [lock({ owner: "Max", expiry: "never" })] }),
        file("S", "/unknown.txt", { locks: [lock({ owner: "Ned", expiry: "unknown" })] }),
      ],
    };
    await renderApp({ snapshot: snap });
    const cell = () => within(row("soon.txt")).getByText(/^(in|expired)/);
    expect(cell()).toHaveTextContent("in 1 min");
    expect(within(row("long.txt")).getByText("in 3 h 1 min")).toBeInTheDocument();
    expect(within(row("never.txt")).getByText("never")).toBeInTheDocument();
    expect(within(row("unknown.txt")).getByText("unknown", { selector: ".expiry" })).toBeInTheDocument();

    act(() => {
      vi.advanceTimersByTime(3000);
    });
    expect(cell()).toHaveTextContent("in 59 s");
    expect(cell()).toHaveClass("expiry-soon");

    act(() => {
      vi.advanceTimersByTime(59_000);
    });
    expect(cell()).toHaveTextContent("expired 0 s ago — stale");
    act(() => {
      vi.advanceTimersByTime(120_000);
    });
    expect(cell()).toHaveTextContent("expired 2 min ago — stale");
    expect(cell()).toHaveClass("expiry-stale");
  });
});

describe("row actions", () => {
  const openMenu = async (user: { click: (el: Element) => Promise<void> }, name: string) => {
    await user.click(screen.getByRole("button", { name: `More actions for ${name}` }));
    return screen.getByRole("menu", { name: `Actions for ${name}` });
  };

  it("force unlock warns about lost work, sends nothing on cancel, and unlocks once on confirm", async () => {
    const { user, fake } = await renderApp();
    await waitFor(() => expect(fake.callsOf("capabilities")).toHaveLength(4));
    await settle();

    let menu = await openMenu(user, "Budget.xlsx");
    await user.click(within(menu).getByRole("menuitem", { name: /Force unlock/ }));
    let dialog = screen.getByRole("alertdialog", { name: "Force unlock “Budget.xlsx”?" });
    // The engine's warning, read for the lock as it is now.
    await waitFor(() => expect(dialog).toHaveTextContent(/This releases Anna Schmidt's lock on Budget.xlsx/));
    expect(dialog).toHaveTextContent(/may lose unsaved work/);
    expect(fake.callsOf("force_unlock_warning")[0]?.args).toEqual({
      server: "Team Nextcloud",
      path: "/Finance/2025/Budget.xlsx",
    });
    // The safe choice has focus; Escape cancels and focus returns to the row.
    expect(within(dialog).getByRole("button", { name: "Cancel" })).toHaveFocus();
    await user.keyboard("{Escape}");
    expect(screen.queryByRole("alertdialog")).toBeNull();
    expect(row("Budget.xlsx")).toHaveFocus();

    menu = await openMenu(user, "Budget.xlsx");
    await user.click(within(menu).getByRole("menuitem", { name: /Force unlock/ }));
    dialog = screen.getByRole("alertdialog");
    await user.click(within(dialog).getByRole("button", { name: "Cancel" }));
    expect(fake.callsOf("force_unlock")).toHaveLength(0);

    menu = await openMenu(user, "Budget.xlsx");
    await user.click(within(menu).getByRole("menuitem", { name: /Force unlock/ }));
    dialog = screen.getByRole("alertdialog");
    // Focus is trapped: Tab from the last button wraps to the first.
    const confirm = within(dialog).getByRole("button", { name: "Force unlock" });
    confirm.focus();
    await user.tab();
    expect(within(dialog).getByRole("button", { name: "Cancel" })).toHaveFocus();
    await user.click(confirm);

    await waitFor(() => expect(screen.queryByRole("alertdialog")).toBeNull());
    expect(fake.callsOf("force_unlock")).toEqual([
      { cmd: "force_unlock", args: { server: "Team Nextcloud", path: "/Finance/2025/Budget.xlsx" } },
    ]);
    expect(await screen.findByText(/Budget.xlsx is free: the lock held by Anna Schmidt was removed/)).toBeInTheDocument();
    expect(within(row("Budget.xlsx")).getByText("Free")).toBeInTheDocument();
  });

  it("offers force unlock only where the server allows it, and explains WOPI's anonymous locks", async () => {
    const { user, fake } = await renderApp();
    await waitFor(() => expect(fake.callsOf("capabilities")).toHaveLength(4));
    await settle();
    const menu = await openMenu(user, "Pipeline.xlsx");
    expect(within(menu).queryByRole("menuitem", { name: /Force unlock/ })).toBeNull();
    const ask = within(menu).getByRole("menuitem", { name: /Ask to release/ });
    expect(ask).toHaveAttribute("aria-disabled", "true");
    expect(ask).toHaveTextContent("The WOPI protocol does not reveal who holds the lock.");
    await user.click(ask);
    expect(screen.queryByRole("dialog")).toBeNull();
  });

  it("toggles Want through set_wanted", async () => {
    const { user, fake } = await renderApp();
    const bell = within(row("Forecast Q3.xlsx")).getByRole("button", { name: "Tell me when Forecast Q3.xlsx is free" });
    expect(bell).toHaveAttribute("aria-pressed", "false");
    await user.click(bell);
    expect(bell).toHaveAttribute("aria-pressed", "true");
    await waitFor(() =>
      expect(fake.callsOf("set_wanted")).toEqual([
        { cmd: "set_wanted", args: { server: "Team Nextcloud", path: "/Finance/2025/Forecast Q3.xlsx", wanted: true } },
      ]),
    );
  });

  it("rolls a failed Want toggle back and shows the error", async () => {
    const { user, fake } = await renderApp();
    fake.fail("set_wanted", { kind: "config", message: "Lockwatch could not save your settings file." });
    const bell = within(row("Forecast Q3.xlsx")).getByRole("button", { name: /Tell me when/ });
    await user.click(bell);
    await waitFor(() =>
      expect(row("Forecast Q3.xlsx").nextElementSibling).toHaveTextContent(
        "Settings problem: Lockwatch could not save your settings file.",
      ),
    );
    expect(bell).toHaveAttribute("aria-pressed", "false");
  });

  it("asks a known holder to release through a chosen channel with an editable message", async () => {
    const { user, fake } = await renderApp();
    await waitFor(() => expect(fake.callsOf("capabilities")).toHaveLength(4));
    await settle();
    const menu = await openMenu(user, "Budget.xlsx");
    await user.click(within(menu).getByRole("menuitem", { name: "Ask to release…" }));
    const dialog = screen.getByRole("dialog", { name: "Ask Anna Schmidt to release “Budget.xlsx”" });
    // The channels come from the engine for this file's holder.
    expect(await within(dialog).findByRole("radio", { name: "Nextcloud Talk message" })).toBeChecked();
    expect(fake.callsOf("ask_channels")[0]?.args).toEqual({ server: "Team Nextcloud", path: "/Finance/2025/Budget.xlsx" });
    expect(dialog).toHaveTextContent("A private one-to-one message");
    await user.click(within(dialog).getByRole("radio", { name: "Comment on the file" }));
    expect(dialog).toHaveTextContent("Everyone who can see this file can read the comment");
    await user.click(within(dialog).getByRole("radio", { name: "Email" }));
    expect(dialog).toHaveTextContent("Opens a new e-mail in your mail client");
    const text = within(dialog).getByRole("textbox", { name: "Message" });
    // Empty means the standard (or configured) request.
    expect(text).toHaveValue("");
    await user.type(text, "Anna, done with the budget?");
    await user.click(within(dialog).getByRole("button", { name: "Write e-mail" }));
    await waitFor(() => expect(screen.queryByRole("dialog")).toBeNull());
    expect(fake.callsOf("ask_to_release")).toEqual([
      {
        cmd: "ask_to_release",
        args: { server: "Team Nextcloud", path: "/Finance/2025/Budget.xlsx", via: "mail", message: "Anna, done with the budget?" },
      },
    ]);
    expect(await screen.findByText("Asked Anna Schmidt via email to release Budget.xlsx.")).toBeInTheDocument();
  });

  it("asks the first other holder of a shared lock, by name", async () => {
    const { user, fake } = await renderApp();
    await waitFor(() => expect(fake.callsOf("capabilities")).toHaveLength(4));
    await settle();
    const menu = await openMenu(user, "Acme MSA 2025.docx");
    expect(within(menu).getByRole("menuitem", { name: "Ask Chris Weber to release…" })).toBeInTheDocument();
    expect(within(menu).queryByRole("menuitem", { name: /Ask Dana/ })).toBeNull();
  });

  it("says plainly when nobody can be reached, and sends nothing", async () => {
    const { user, fake } = await renderApp({ askChannels: {} });
    const menu = await openMenu(user, "Budget.xlsx");
    await user.click(within(menu).getByRole("menuitem", { name: "Ask to release…" }));
    const dialog = screen.getByRole("dialog");
    expect(await within(dialog).findByText(/no way to reach Anna Schmidt/)).toBeInTheDocument();
    expect(within(dialog).getByRole("button", { name: "Send" })).toBeDisabled();
    expect(fake.callsOf("ask_to_release")).toHaveLength(0);
  });

  it("locks a free file and unlocks your own, showing the outcome sentence", async () => {
    const { user, fake } = await renderApp();
    await user.click(within(row("Forecast Q3.xlsx")).getByRole("button", { name: "Lock" }));
    expect(await screen.findByText("You now hold an exclusive lock on Forecast Q3.xlsx for one hour.")).toBeInTheDocument();
    expect(fake.callsOf("lock_file")[0]?.args).toEqual({
      server: "Team Nextcloud",
      path: "/Finance/2025/Forecast Q3.xlsx",
      shared: false,
    });
    await user.click(within(row("Forecast Q3.xlsx")).getByRole("button", { name: "Unlock" }));
    expect(await screen.findByText("Forecast Q3.xlsx is unlocked.")).toBeInTheDocument();
    // Unlock is never offered for someone else's lock.
    expect(within(row("Budget.xlsx")).queryByRole("button", { name: "Unlock" })).toBeNull();
  });

  it("shows the file's history with durations and stale flags", async () => {
    const { user } = await renderApp();
    const menu = await openMenu(user, "Budget.xlsx");
    await user.click(within(menu).getByRole("menuitem", { name: "History…" }));
    const table = await screen.findByRole("table", { name: "Lock history of Budget.xlsx" });
    const rows = within(table).getAllByRole("row").slice(1);
    expect(rows).toHaveLength(4);
    expect(rows[0]).toHaveTextContent("still held");
    expect(rows[1]).toHaveTextContent("Ben Okafor");
    expect(rows[1]).toHaveTextContent("1 h 50 min");
    expect(rows[2]).toHaveTextContent("stale");
    expect(rows[1]).not.toHaveTextContent("stale");
  });
});

describe("untrusted text", () => {
  it("renders hostile owner, file and error text literally and creates no elements", async () => {
    const html = "<img src=x onerror=alert(1)>";
    const snap: Snapshot = {
      ...demo(),
      servers: [server("S", { ok: false, error: { kind: "protocol", message: "<b>bold</b> reply" } })],
      files: [
        file("S", "/docs/<svg onload=alert(1)>.txt", { locks: [lock({ owner: html, owner_id: "\u202Eevil", editor: "\u202Eevil" })] }),
        file("S", "/docs/b.txt", { state: "error", error: { kind: "not_found", message: "<i>gone</i>" } }),
      ],
    };
    await renderApp({ snapshot: snap });
    expect(screen.getByText(html)).toBeInTheDocument();
    expect(screen.getByText("<svg onload=alert(1)>.txt")).toBeInTheDocument();
    expect(screen.getByText("\uFFFDevil")).toBeInTheDocument();
    expect(screen.getByText(html).closest("[title]")).toHaveAttribute("title", "\uFFFDevil");
    expect(screen.getByText(/<b>bold<\/b> reply/)).toBeInTheDocument();
    expect(screen.getByText(/<i>gone<\/i>/)).toBeInTheDocument();
    expect(document.querySelector("img, script, b, i, svg[onload]")).toBeNull();
    expect(document.body.innerHTML).not.toContain("\u202E");
  });
});

describe("errors", () => {
  it("labels errors by kind and shows the engine's message next to what they concern", async () => {
    await renderApp();
    const onboarding = within(row("Onboarding checklist.odt"));
    const note = onboarding.getByText(/You may not see the locks on this file/).closest(".error-note");
    expect(note).toHaveAttribute("data-kind", "forbidden");
    expect(note).toHaveClass("look-auth");
    expect(note).toHaveTextContent("Access denied:");

    const banner = screen.getByRole("note", { name: "Problem with Archive NAS" });
    expect(banner).toHaveTextContent("Can't reach server: Can't reach archive.office.lan");
    expect(banner).toHaveTextContent(/Retrying in \d+ s\./);
    expect(banner.querySelector(".error-note")).toHaveClass("look-offline");
  });

  it("shows a failed action next to its row with the kind's label and the message", async () => {
    const { user, fake } = await renderApp();
    fake.fail("lock_file", { kind: "locked", message: "Someone locked Forecast Q3.xlsx a moment ago." });
    await user.click(within(row("Forecast Q3.xlsx")).getByRole("button", { name: "Lock" }));
    const under = () => row("Forecast Q3.xlsx").nextElementSibling;
    await waitFor(() => expect(under()).toHaveTextContent("Locked: Someone locked Forecast Q3.xlsx a moment ago."));
    expect(under()).toHaveClass("row-error");
    expect(screen.queryByRole("alert")).toBeNull();

    fake.fail("lock_file", "panicked at src/engine.rs");
    await user.click(within(row("Forecast Q3.xlsx")).getByRole("button", { name: "Lock" }));
    await waitFor(() => expect(under()).toHaveTextContent("Internal error: panicked at src/engine.rs"));
    await user.click(within(under() as HTMLElement).getByRole("button", { name: /Dismiss the error/ }));
    expect(under()?.classList.contains("row-error") ?? false).toBe(false);
  });

  it("shows an action the server did not carry out next to the row, with the file as read afterwards", async () => {
    const { user, fake } = await renderApp();
    fake.outcome("lock_file", {
      ok: false,
      message: "The server accepted the lock on Forecast Q3.xlsx but does not list it; it is unlocked now.",
      error: null,
    });
    await user.click(within(row("Forecast Q3.xlsx")).getByRole("button", { name: "Lock" }));
    await waitFor(() =>
      expect(row("Forecast Q3.xlsx").nextElementSibling).toHaveTextContent("but does not list it; it is unlocked now."),
    );
  });
});

describe("keyboard", () => {
  it("moves the row focus with arrows, opens the action menu with Enter, and uses shortcuts", async () => {
    const { user, fake } = await renderApp();
    await ungroup(user);
    const rows = () => [...document.querySelectorAll<HTMLElement>("tr.file-row")];
    // Only one row is in the tab order.
    expect(rows().filter((r) => r.tabIndex === 0)).toHaveLength(1);
    rows()[0]?.focus();
    await user.keyboard("{ArrowDown}");
    expect(rows()[1]).toHaveFocus();
    await user.keyboard("{End}");
    expect(rows().at(-1)).toHaveFocus();
    await user.keyboard("{Home}{ArrowDown}{ArrowDown}");
    const third = rows()[2];
    expect(third).toHaveFocus();
    expect(third?.tabIndex).toBe(0);

    await user.keyboard("{Enter}");
    const menu = screen.getByRole("menu");
    expect(within(menu).getAllByRole("menuitem")[0]).toHaveFocus();
    await user.keyboard("{ArrowDown}");
    expect(within(menu).getAllByRole("menuitem")[1]).toHaveFocus();
    await user.keyboard("{Escape}");
    expect(screen.queryByRole("menu")).toBeNull();
    expect(third).toHaveFocus();

    await user.keyboard("w");
    await waitFor(() => expect(fake.callsOf("set_wanted")).toHaveLength(1));
  });

  it("navigates group headers too: Left collapses, Right expands", async () => {
    const { user } = await renderApp();
    const header = document.querySelector<HTMLElement>("tr.group-row");
    header?.focus();
    await user.keyboard("{ArrowLeft}");
    expect(header).toHaveAttribute("aria-expanded", "false");
    expect(fileOrder()).not.toContain("Budget.xlsx");
    await user.keyboard("{ArrowRight}");
    expect(fileOrder()).toContain("Budget.xlsx");
    await user.keyboard("{ArrowDown}");
    expect(document.activeElement).toHaveClass("file-row");
  });

  it("documents shortcuts in a ? popover and focuses the filter with /", async () => {
    const { user } = await renderApp();
    document.querySelector<HTMLElement>("tr.file-row")?.focus();
    await user.keyboard("?");
    const help = screen.getByRole("dialog", { name: "Keyboard shortcuts" });
    expect(help).toHaveTextContent("Open the row's actions");
    await user.keyboard("{Escape}");
    expect(screen.queryByRole("dialog", { name: "Keyboard shortcuts" })).toBeNull();
    await user.keyboard("/");
    expect(screen.getByRole("searchbox")).toHaveFocus();
  });
});

describe("live updates", () => {
  it("announces a file that became free and reveals a row when a notification is clicked", async () => {
    const { fake, user } = await renderApp();
    await user.click(screen.getByRole("button", { name: "Legal DAV: collapse" }));
    const next = structuredClone(fake.state);
    const budget = next.files.find((f) => f.path.endsWith("Budget.xlsx"));
    if (!budget) throw new Error("fixture");
    budget.state = "unlocked";
    budget.locks = [];
    await act(() => fake.push(next));
    await waitFor(() => expect(screen.getByTestId("live-region")).toHaveTextContent("Budget.xlsx is free"));
    expect(within(row("Budget.xlsx")).getByText("Free")).toBeInTheDocument();

    await act(() => fake.focus("Legal DAV", "/contracts/drafts/NDA template.docx"));
    await waitFor(() => expect(row("NDA template.docx")).toHaveFocus());
    expect(fake.pendingFocus).toBeNull();
    expect(row("NDA template.docx").nextElementSibling?.classList.contains("row-error") ?? false).toBe(false);
  });

  it("shows why a file was revealed when a notification's Lock it now failed, until the file is free", async () => {
    const { fake } = await renderApp();
    const path = "/contracts/drafts/NDA template.docx";
    await act(() =>
      fake.focus("Legal DAV", path, { kind: "locked", message: "Bob locked NDA template.docx first." }),
    );
    await waitFor(() => expect(row("NDA template.docx")).toHaveFocus());
    const under = () => row("NDA template.docx").nextElementSibling;
    expect(under()).toHaveClass("row-error");
    expect(under()).toHaveTextContent("Locked: Bob locked NDA template.docx first.");

    // Another poll with the file still locked keeps the reason; the file freed drops it.
    await act(() => fake.push(structuredClone(fake.state)));
    expect(under()).toHaveClass("row-error");
    const next = structuredClone(fake.state);
    const nda = next.files.find((f) => f.path === path);
    if (!nda) throw new Error("fixture");
    expect(nda.state).not.toBe("unlocked");
    nda.state = "unlocked";
    nda.locks = [];
    await act(() => fake.push(next));
    await waitFor(() => expect(under()?.classList.contains("row-error") ?? false).toBe(false));
  });

  it("reveals the file a window was opened for, once it listens, and only once", async () => {
    const { fake } = await renderApp({ focus: { server: "Legal DAV", path: "/contracts/drafts/NDA template.docx", problem: null } });
    await waitFor(() => expect(row("NDA template.docx")).toHaveFocus());
    expect(fake.pendingFocus).toBeNull();
    expect(fake.callsOf("take_focus")).toHaveLength(1);
    // An event with nothing waiting (taken already) changes nothing.
    row("Budget.xlsx").focus();
    await act(() => emit("focus-file"));
    await settle();
    expect(row("Budget.xlsx")).toHaveFocus();
  });

  it("teaches when there are no servers and leaves the demo through exit_demo", async () => {
    const empty: Snapshot = { ...demo(), servers: [], files: [] };
    const { user } = await renderApp({ snapshot: empty, servers: [] });
    expect(await screen.findByText(/Add a server or explore the demo/)).toBeInTheDocument();
    await user.click(screen.getByRole("button", { name: "Add a server" }));
    expect(await screen.findByRole("heading", { name: "Add a server" })).toBeInTheDocument();
  });

  it("shows the demo banner and opens the server form from it", async () => {
    const { user, fake } = await renderApp({ snapshot: { ...demo(), demo: true } });
    expect(screen.getByText(/This is a demo server with simulated colleagues/)).toBeInTheDocument();
    await user.click(screen.getByRole("button", { name: "Add your server" }));
    expect(await screen.findByRole("heading", { name: "Add a server" })).toBeInTheDocument();
    expect(fake.commands()).toContain("exit_demo");
    expect(screen.queryByText(/This is a demo server/)).toBeNull();
  });

  it("pauses and resumes polling", async () => {
    const { user, fake } = await renderApp();
    await user.click(screen.getByRole("button", { name: "Pause" }));
    expect(screen.getByText(/Checking is paused/)).toBeInTheDocument();
    expect(fake.callsOf("set_paused")[0]?.args).toEqual({ paused: true });
    fireEvent.keyDown(document, { key: "r", ctrlKey: true });
    await waitFor(() => expect(fake.commands()).toContain("refresh_now"));
  });
});
