import { mockIPC } from "@tauri-apps/api/mocks";
import { describe, expect, it } from "vitest";

import * as ipc from "../src/ipc";

describe("ipc", () => {
  it("sends Tauri command names with camelCase argument objects", async () => {
    const seen: [string, unknown][] = [];
    mockIPC((cmd, args) => {
      seen.push([cmd, args]);
      return cmd === "ask_to_release" ? { channel: "talk", holder: "Anna", message: "Asked." } : null;
    });
    await ipc.setWanted("Team", "/a.txt", true);
    await ipc.lockFile("Team", "/a.txt", false);
    await ipc.askToRelease("Team", "/a.txt", "talk", "Please?");
    await ipc.saveServer(
      { name: "T", kind: "auto", url: "https://x/", username: null, password_env: null, has_password: false, watch: [], wanted: [] },
      true,
      "pw",
    );
    expect(seen).toEqual([
      ["set_wanted", { server: "Team", path: "/a.txt", wanted: true }],
      ["lock_file", { server: "Team", path: "/a.txt", shared: false }],
      ["ask_to_release", { server: "Team", path: "/a.txt", via: "talk", message: "Please?" }],
      [
        "save_server",
        {
          settings: { name: "T", kind: "auto", url: "https://x/", username: null, password_env: null, has_password: false, watch: [], wanted: [] },
          create: true,
          password: "pw",
        },
      ],
    ]);
  });

  it("passes a typed { kind, message } rejection through as IpcError", async () => {
    mockIPC(() => {
      throw { kind: "locked", message: "Budget.xlsx is locked by Anna." };
    });
    const err = await ipc.unlockFile("Team", "/Budget.xlsx").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ipc.IpcError);
    expect(err).toMatchObject({ kind: "locked", message: "Budget.xlsx is locked by Anna." });
  });

  it("normalises anything else to kind 'internal'", async () => {
    const cases: [unknown, string][] = [
      ["command force_unlock not found", "command force_unlock not found"],
      [{ kind: "no_such_kind", message: "weird" }, "weird"],
      [new Error("bug"), "bug"],
      [42, "Something went wrong inside Lockwatch."],
      [null, "Something went wrong inside Lockwatch."],
    ];
    for (const [raw, message] of cases) {
      mockIPC(() => {
        throw raw;
      });
      const err = await ipc.snapshot().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ipc.IpcError);
      expect(err).toMatchObject({ kind: "internal", message });
    }
  });
});
