import { describe, expect, it } from "vitest";

import { file, lock, server } from "../dev/demo-data";
import type { FileEntry } from "../src/bindings/FileEntry";
import { filterFiles, groupFiles, rowOffsets, rowsInBand, scrollToShow, sortFiles, type SortKey } from "../src/table";

const T = (min: number) => new Date(Date.parse("2025-06-02T10:00:00Z") + min * 60_000).toISOString();

const files: FileEntry[] = [
  file("Beta", "/a/Report.docx", {
    locks: [lock({ owner: "Zoe", editor: "Word", scope: "exclusive", kind: "webdav", acquired_at: T(-5), expires_at: T(30), expiry: "at" })],
  }),
  file("Alpha", "/b/Plan.odt", {
    locks: [lock({ owner: null, owner_id: "adam", editor: null, kind: "user", acquired_at: T(-50), expiry: "never" })],
  }),
  file("Alpha", "/c/Budget.xlsx"),
  file("Beta", "/d/Notes.txt", {
    locks: [
      lock({ owner: "Mia", scope: "shared", kind: "app", editor: "Collabora", acquired_at: T(-20), expires_at: T(5), expiry: "at" }),
      lock({ owner: "Bob", scope: "shared", kind: "app", acquired_at: T(-1), expiry: "unknown" }),
    ],
  }),
  file("Alpha", "/e/Scan.tif", { state: "error", error: { kind: "forbidden", message: "No access." } }),
  file("Beta", "/f/Old.doc", { state: "unsupported" }),
];

const names = (list: FileEntry[]) => list.map((f) => f.path.split("/").pop());
const sorted = (key: SortKey, dir: "ascending" | "descending" = "ascending") => names(sortFiles(files, { key, dir }));

describe("sortFiles", () => {
  it("sorts by file name", () => {
    expect(sorted("file")).toEqual(["Budget.xlsx", "Notes.txt", "Old.doc", "Plan.odt", "Report.docx", "Scan.tif"]);
    expect(sorted("file", "descending")).toEqual([
      "Scan.tif",
      "Report.docx",
      "Plan.odt",
      "Old.doc",
      "Notes.txt",
      "Budget.xlsx",
    ]);
  });

  it("sorts by server, then by name within a server", () => {
    expect(sorted("server")).toEqual(["Budget.xlsx", "Plan.odt", "Scan.tif", "Notes.txt", "Old.doc", "Report.docx"]);
  });

  it("sorts by state: locked, error, unsupported, free", () => {
    expect(sorted("state")).toEqual(["Notes.txt", "Plan.odt", "Report.docx", "Scan.tif", "Old.doc", "Budget.xlsx"]);
  });

  it("sorts by holder, falling back to the user id, with files nobody holds last in both directions", () => {
    expect(sorted("holder")).toEqual(["Plan.odt", "Notes.txt", "Report.docx", "Budget.xlsx", "Old.doc", "Scan.tif"]);
    expect(sorted("holder", "descending")).toEqual([
      "Report.docx",
      "Notes.txt",
      "Plan.odt",
      "Budget.xlsx",
      "Old.doc",
      "Scan.tif",
    ]);
  });

  it("sorts by editor with unknown editors last", () => {
    expect(sorted("editor")).toEqual(["Notes.txt", "Report.docx", "Budget.xlsx", "Old.doc", "Plan.odt", "Scan.tif"]);
    expect(sorted("editor", "descending").slice(0, 2)).toEqual(["Report.docx", "Notes.txt"]);
  });

  it("sorts by lock type", () => {
    // "Exclusive · User" < "Exclusive · WebDAV" < "Shared · App", as shown in the cells.
    expect(sorted("type")).toEqual(["Plan.odt", "Report.docx", "Notes.txt", "Budget.xlsx", "Old.doc", "Scan.tif"]);
    expect(sorted("type", "descending").slice(0, 3)).toEqual(["Notes.txt", "Report.docx", "Plan.odt"]);
  });

  it("sorts by when the lock was taken (earliest lock of a row), blanks last", () => {
    expect(sorted("taken")).toEqual(["Plan.odt", "Notes.txt", "Report.docx", "Budget.xlsx", "Old.doc", "Scan.tif"]);
    expect(sorted("taken", "descending").slice(0, 3)).toEqual(["Report.docx", "Notes.txt", "Plan.odt"]);
  });

  it("sorts by expiry: soonest first, 'never' after every date, unknown and none last", () => {
    expect(sorted("expires")).toEqual(["Notes.txt", "Report.docx", "Plan.odt", "Budget.xlsx", "Old.doc", "Scan.tif"]);
    expect(sorted("expires", "descending")).toEqual([
      "Plan.odt",
      "Report.docx",
      "Notes.txt",
      "Budget.xlsx",
      "Old.doc",
      "Scan.tif",
    ]);
  });
});

describe("filterFiles", () => {
  const none = new Set<never>();
  it("matches every word against path, server, holders and editors, ignoring case", () => {
    expect(names(filterFiles(files, { text: "zoe", states: none }))).toEqual(["Report.docx"]);
    expect(names(filterFiles(files, { text: "ADAM", states: none }))).toEqual(["Plan.odt"]);
    expect(names(filterFiles(files, { text: "collabora", states: none }))).toEqual(["Notes.txt"]);
    expect(names(filterFiles(files, { text: "alpha xlsx", states: none }))).toEqual(["Budget.xlsx"]);
    expect(filterFiles(files, { text: "  ", states: none })).toHaveLength(files.length);
    expect(filterFiles(files, { text: "nothing-like-this", states: none })).toHaveLength(0);
  });

  it("keeps only the chosen states, combined with the text", () => {
    expect(names(filterFiles(files, { text: "", states: new Set(["locked"]) }))).toEqual([
      "Report.docx",
      "Plan.odt",
      "Notes.txt",
    ]);
    expect(names(filterFiles(files, { text: "", states: new Set(["error", "unsupported"]) }))).toEqual([
      "Scan.tif",
      "Old.doc",
    ]);
    expect(names(filterFiles(files, { text: "beta", states: new Set(["locked"]) }))).toEqual([
      "Report.docx",
      "Notes.txt",
    ]);
  });
});

describe("groupFiles", () => {
  it("groups in the servers' order, keeps empty servers, and counts before filtering", () => {
    const servers = [server("Beta"), server("Alpha"), server("Gamma")];
    const visible = filterFiles(files, { text: "", states: new Set(["locked"]) });
    const groups = groupFiles(files, visible, servers);
    expect(groups.map((g) => [g.server, names(g.files), g.total])).toEqual([
      ["Beta", ["Report.docx", "Notes.txt"], 3],
      ["Alpha", ["Plan.odt"], 3],
      ["Gamma", [], 0],
    ]);
    expect(groups[0]?.status?.name).toBe("Beta");
  });

  it("adds servers that only appear in files", () => {
    const groups = groupFiles(files, files, [server("Beta")]);
    expect(groups.map((g) => g.server)).toEqual(["Beta", "Alpha"]);
    expect(groups[1]?.status).toBeNull();
  });
});

describe("windowing", () => {
  // A group header (31 px), a two-lock row (48), then one-line rows (29).
  const heights = [31, 48, ...Array.from({ length: 998 }, () => 29)];
  const offsets = rowOffsets(heights);

  it("lays rows end to end", () => {
    expect(offsets.slice(0, 4)).toEqual([0, 31, 79, 108]);
    expect(offsets.at(-1)).toBe(31 + 48 + 998 * 29);
    expect(rowOffsets([])).toEqual([0]);
  });

  it("finds the rows meeting the viewport, with overscan, and the last rows when scrolled past the end", () => {
    expect(rowsInBand(offsets, 0, 100, 0)).toEqual([0, 3]);
    // A row only partly in view counts; one that ends where the band starts does not.
    expect(rowsInBand(offsets, 79, 29, 0)).toEqual([2, 3]);
    expect(rowsInBand(offsets, 80, 29, 0)).toEqual([2, 4]);
    expect(rowsInBand(offsets, 79 + 500 * 29, 290, 5)).toEqual([497, 517]);
    expect(rowsInBand(offsets, 0, 100, 8)).toEqual([0, 11]);
    const total = offsets.at(-1) ?? 0;
    expect(rowsInBand(offsets, total * 2, 290, 0)).toEqual([990, 1000]);
    expect(rowsInBand([0], 0, 500, 8)).toEqual([0, 0]);
  });

  it("scrolls as little as possible to show a row whole, or centres it, within the ends", () => {
    const band = 290;
    // Already in view: no move.
    expect(scrollToShow(offsets, 3, 0, band, "nearest")).toBe(0);
    // Below: its bottom lands on the band's bottom.
    expect(scrollToShow(offsets, 20, 0, band, "nearest")).toBe(79 + 19 * 29 - band);
    // Above: its top lands on the band's top.
    expect(scrollToShow(offsets, 2, 5000, band, "nearest")).toBe(79);
    expect(scrollToShow(offsets, 500, 0, band, "center")).toBe(79 + 498 * 29 - (band - 29) / 2 + 0.5);
    expect(scrollToShow(offsets, 0, 5000, band, "center")).toBe(0);
    expect(scrollToShow(offsets, 999, 0, band, "center")).toBe((offsets.at(-1) ?? 0) - band);
  });
});
