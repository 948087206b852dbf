// The shell offers only the commands the engine supports (`snapshot.features`). Everything else must
// read as "not available yet" and never call a command the shell does not have.

import { fireEvent, screen, waitFor, within } from "@testing-library/preact";
import { describe, expect, it } from "vitest";

import { NOT_YET } from "../src/features";
import { demo, renderApp, row, settle } from "./render";

/** The snapshot as today's shell sends it: watching only. */
const watchingOnly = () => ({ ...demo(), features: [] });

/** Commands the shell registers today (src-tauri/build.rs). */
const SHELL_COMMANDS = new Set(["snapshot", "refresh_now", "set_paused", "list_servers", "exit_demo", "enter_demo"]);
const calledOutsideShell = (commands: string[]) =>
  commands.filter((c) => !c.startsWith("plugin:") && !SHELL_COMMANDS.has(c));

describe("features the shell does not offer yet", () => {
  it("shows lock actions, Want and History as not available and calls none of them", async () => {
    const { user, fake } = await renderApp({ snapshot: watchingOnly() });
    const budget = row("Forecast Q3.xlsx");
    // No Lock button in the row; the bell is there but disabled and says why.
    expect(within(budget).queryByRole("button", { name: "Lock" })).toBeNull();
    const bell = within(budget).getByRole("button", { name: "Tell me when Forecast Q3.xlsx is free" });
    expect(bell).toBeDisabled();
    expect(bell.getAttribute("title")).toContain(NOT_YET.toLowerCase());

    await user.click(within(budget).getByRole("button", { name: "More actions for Forecast Q3.xlsx" }));
    const menu = screen.getByRole("menu", { name: "Actions for Forecast Q3.xlsx" });
    for (const label of ["Lock", "Tell me when it is free", "History…"]) {
      const item = within(menu).getByRole("menuitem", { name: new RegExp(`^${label}`) });
      expect(item).toHaveAttribute("aria-disabled", "true");
      expect(item).toHaveTextContent(NOT_YET);
      await user.click(item);
    }
    // Keyboard shortcuts go through the same items.
    fireEvent.keyDown(row("Forecast Q3.xlsx"), { key: "w" });
    fireEvent.keyDown(row("Forecast Q3.xlsx"), { key: "l" });
    await settle();
    expect(calledOutsideShell(fake.commands())).toEqual([]);
    expect(screen.queryByRole("dialog")).toBeNull();
  });

  it("shows servers read-only with the config file to edit instead", async () => {
    const { user, fake } = await renderApp({ snapshot: watchingOnly() });
    await user.click(screen.getByRole("tab", { name: /Servers/ }));
    await screen.findByRole("heading", { name: "Team Nextcloud", level: 2 });
    const note = screen.getByText(/servers here is/).closest("[role=note]");
    expect(note).toHaveTextContent(`Changing servers here is ${NOT_YET.toLowerCase()}`);
    expect(note).toHaveTextContent("/home/you/.config/lockwatch/config.toml");
    expect(screen.getByLabelText("Address")).toBeDisabled();
    expect(screen.queryByRole("button", { name: "Save" })).toBeNull();
    expect(screen.queryByRole("button", { name: "Test connection" })).toBeNull();
    expect(screen.queryByRole("button", { name: "Remove…" })).toBeNull();
    await waitFor(() => expect(fake.callsOf("list_servers")).toHaveLength(1));
    expect(calledOutsideShell(fake.commands())).toEqual([]);
  });
});
