import { screen, waitFor, within } from "@testing-library/preact";
import { describe, expect, it } from "vitest";

import { renderApp } from "./render";

async function openServers(user: { click: (el: Element) => Promise<void> }) {
  await user.click(screen.getByRole("tab", { name: /Servers/ }));
  return screen.findByRole("heading", { name: "Team Nextcloud", level: 2 });
}

describe("servers view", () => {
  it("lists servers with their health in words", async () => {
    const { user } = await renderApp();
    await openServers(user);
    const list = screen.getByRole("complementary", { name: "Servers" });
    const nas = within(list).getByRole("button", { name: /Archive NAS/ });
    expect(nas).toHaveTextContent(/Problem · retrying in \d+ s/);
    expect(nas).toHaveTextContent("Can't reach server: Can't reach archive.office.lan");
    expect(within(list).getByRole("button", { name: /Legal DAV/ })).toHaveTextContent(/OK · checked/);
  });

  it("never shows a password back, says it is stored in the keyring, and sends a new one only to save_server", async () => {
    const { user, fake } = await renderApp();
    await openServers(user);
    const password = screen.getByLabelText("Password");
    expect(password).toHaveAttribute("type", "password");
    expect(password).toHaveValue("");
    expect(screen.getByText("Stored in keyring")).toBeInTheDocument();

    await user.type(password, "hunter2");
    await user.click(screen.getByRole("button", { name: "Save" }));
    await waitFor(() => expect(fake.callsOf("save_server")).toHaveLength(1));
    const args = fake.callsOf("save_server")[0]?.args as { settings: Record<string, unknown>; password: unknown };
    expect(args.password).toBe("hunter2");
    expect(JSON.stringify(args.settings)).not.toContain("hunter2");

    await screen.findByText("Saved “Team Nextcloud”.");
    expect(screen.getByLabelText("Password")).toHaveValue("");
    const everyValue = [...document.querySelectorAll("input, textarea")].map((el) => (el as HTMLInputElement).value);
    expect(everyValue).not.toContain("hunter2");
    expect(document.body.textContent).not.toContain("hunter2");
  });

  it("keeps the stored password when the field is left empty", async () => {
    const { user, fake } = await renderApp();
    await openServers(user);
    await user.click(screen.getByRole("button", { name: "Save" }));
    await waitFor(() => expect(fake.callsOf("save_server")).toHaveLength(1));
    expect(fake.callsOf("save_server")[0]?.args.password).toBeNull();
  });

  it("adds a server with watch and wanted lists, validating the address first", async () => {
    const { user, fake } = await renderApp();
    await openServers(user);
    await user.click(screen.getByRole("button", { name: "Add server" }));
    await screen.findByRole("heading", { name: "Add a server" });
    await user.type(screen.getByLabelText("Name"), "Home NAS");
    await user.type(screen.getByLabelText("Address"), "https://me:secret@nas.local/dav/");
    await user.click(screen.getByRole("button", { name: "Save" }));
    expect(screen.getByLabelText("Address")).toHaveAttribute("aria-invalid", "true");
    expect(screen.getByLabelText("Address")).toHaveAccessibleDescription(/not in the address/);
    expect(fake.callsOf("save_server")).toHaveLength(0);

    await user.clear(screen.getByLabelText("Address"));
    await user.type(screen.getByLabelText("Address"), "https://nas.local/dav/");
    await user.type(screen.getByRole("textbox", { name: "Add a path to the watch list" }), "Photos{Enter}");
    await user.type(screen.getByRole("textbox", { name: "Add a path to the wanted list" }), "/Photos/album.odg{Enter}");
    expect(screen.getByRole("list", { name: "watch list" })).toHaveTextContent("/Photos");
    await user.click(screen.getByRole("button", { name: "Remove /Photos/album.odg from the wanted list" }));
    await user.type(screen.getByRole("textbox", { name: "Add a path to the wanted list" }), "/Photos/list.ods{Enter}");
    await user.click(screen.getByRole("button", { name: "Save" }));

    await waitFor(() => expect(fake.callsOf("save_server")).toHaveLength(1));
    expect(fake.callsOf("save_server")[0]?.args).toEqual({
      settings: {
        name: "Home NAS",
        kind: "auto",
        url: "https://nas.local/dav/",
        username: null,
        password_env: null,
        has_password: false,
        watch: ["/Photos"],
        wanted: ["/Photos/list.ods"],
      },
      create: true,
      password: null,
    });
    expect(await screen.findByText(/Added “Home NAS”/)).toBeInTheDocument();
  });

  it("shows detected kind and capabilities after a successful test", async () => {
    const { user, fake } = await renderApp();
    await openServers(user);
    await user.click(screen.getByRole("button", { name: "Test connection" }));
    const result = await screen.findByText(/Connected. Detected/);
    expect(result).toHaveTextContent("Nextcloud");
    const box = result.closest(".test-result") as HTMLElement;
    expect(within(box).getByText("Force unlock").nextSibling).toHaveTextContent("allowed");
    expect(within(box).getByText("Shows lock tokens").nextSibling).toHaveTextContent("no");
    expect(fake.callsOf("test_connection")[0]?.args.password).toBeNull();
  });

  it("turns starting at login on and off", async () => {
    const { user, fake } = await renderApp();
    await openServers(user);
    const box = await screen.findByRole("checkbox", { name: /Start when I log in/ });
    expect(box).not.toBeChecked();
    await user.click(box);
    await waitFor(() => expect(box).toBeChecked());
    expect(fake.callsOf("set_autostart")).toEqual([{ cmd: "set_autostart", args: { enabled: true } }]);
    fake.fail("set_autostart", { kind: "internal", message: "Lockwatch could not turn off starting at login: denied" });
    await user.click(box);
    expect(await screen.findByText(/could not turn off starting at login/)).toBeInTheDocument();
    expect(box).toBeChecked();
  });

  it("puts a failed test's error next to the field it concerns, chosen by kind", async () => {
    const { user, fake } = await renderApp();
    await openServers(user);
    fake.fail("test_connection", { kind: "unauthorized", message: "The server rejected user “me”. Check the app password." });
    await user.type(screen.getByLabelText("Password"), "wrong");
    await user.click(screen.getByRole("button", { name: "Test connection" }));
    const password = screen.getByLabelText("Password");
    await waitFor(() => expect(password).toHaveAttribute("aria-invalid", "true"));
    expect(password).toHaveAccessibleDescription("Sign-in failed: The server rejected user “me”. Check the app password.");
    expect(screen.getByLabelText("Address")).not.toHaveAttribute("aria-invalid");
    expect(fake.callsOf("test_connection")[0]?.args.password).toBe("wrong");

    fake.fail("test_connection", { kind: "tls", message: "The certificate of cloud.example.org expired on 1 May." });
    await user.click(screen.getByRole("button", { name: "Test connection" }));
    await waitFor(() => expect(screen.getByLabelText("Address")).toHaveAttribute("aria-invalid", "true"));
    expect(screen.getByLabelText("Address")).toHaveAccessibleDescription(/Certificate problem: The certificate/);
    expect(screen.getByLabelText("Password")).not.toHaveAttribute("aria-invalid");
  });

  it("asks before removing a server", async () => {
    const { user, fake } = await renderApp();
    await openServers(user);
    await user.click(screen.getByRole("button", { name: "Remove…" }));
    let dialog = screen.getByRole("alertdialog", { name: "Remove “Team Nextcloud”?" });
    await user.click(within(dialog).getByRole("button", { name: "Cancel" }));
    expect(fake.callsOf("remove_server")).toHaveLength(0);

    await user.click(screen.getByRole("button", { name: "Remove…" }));
    dialog = screen.getByRole("alertdialog");
    await user.click(within(dialog).getByRole("button", { name: "Remove server" }));
    await waitFor(() => expect(fake.callsOf("remove_server")).toEqual([{ cmd: "remove_server", args: { name: "Team Nextcloud" } }]));
    await waitFor(() =>
      expect(within(screen.getByRole("complementary", { name: "Servers" })).queryByText("Team Nextcloud")).toBeNull(),
    );
  });
});
