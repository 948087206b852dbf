import { describe, expect, it } from "vitest";

import { baseName, dirName, displaySafe, formatAgo, formatExpiry, formatRetry, formatSpan } from "../src/text";

const NOW = Date.parse("2025-06-02T10:00:00Z");
const at = (ms: number) => ({ expiry: "at" as const, expires_at: new Date(NOW + ms).toISOString() });

describe("formatExpiry", () => {
  it("states never and unknown plainly", () => {
    expect(formatExpiry({ expiry: "never", expires_at: null }, NOW)).toEqual({ text: "never", tone: "never" });
    expect(formatExpiry({ expiry: "unknown", expires_at: null }, NOW)).toEqual({ text: "unknown", tone: "unknown" });
    // A dated expiry without a date is not invented.
    expect(formatExpiry({ expiry: "at", expires_at: null }, NOW).text).toBe("unknown");
    expect(formatExpiry({ expiry: "at", expires_at: "not a date" }, NOW).text).toBe("unknown");
  });

  it("counts seconds, minutes and hours", () => {
    expect(formatExpiry(at(45_000), NOW)).toEqual({ text: "in 45 s", tone: "soon" });
    expect(formatExpiry(at(12 * 60_000), NOW)).toEqual({ text: "in 12 min", tone: "ok" });
    expect(formatExpiry(at(4 * 60_000 + 59_000), NOW).tone).toBe("soon");
    expect(formatExpiry(at(3 * 3600_000 + 5 * 60_000), NOW).text).toBe("in 3 h 5 min");
    expect(formatExpiry(at(2 * 3600_000), NOW).text).toBe("in 2 h");
    expect(formatExpiry(at(50 * 3600_000), NOW).text).toBe("in 2 d 2 h");
  });

  it("calls an expired lock stale", () => {
    expect(formatExpiry(at(-2 * 60_000), NOW)).toEqual({ text: "expired 2 min ago — stale", tone: "stale" });
    expect(formatExpiry(at(-30_000), NOW).text).toBe("expired 30 s ago — stale");
    expect(formatExpiry(at(0), NOW).tone).toBe("stale");
  });
});

describe("formatSpan", () => {
  it("rounds down and never goes negative", () => {
    expect(formatSpan(59_999)).toBe("59 s");
    expect(formatSpan(60_000)).toBe("1 min");
    expect(formatSpan(-5)).toBe("0 s");
  });
});

describe("formatRetry", () => {
  it("counts down from the snapshot's time", () => {
    const since = new Date(NOW).toISOString();
    expect(formatRetry(25, since, NOW + 5_000)).toBe("retrying in 20 s");
    expect(formatRetry(25, since, NOW + 30_000)).toBe("retrying now…");
    expect(formatRetry(null, since, NOW)).toBeNull();
  });
});

describe("displaySafe", () => {
  it("neutralises bidi overrides and control characters visibly", () => {
    expect(displaySafe("\u202Eevil")).toBe("\uFFFDevil");
    expect(displaySafe("a\u2066b\u2069c\u200Fd")).toBe("a\uFFFDb\uFFFDc\uFFFDd");
    expect(displaySafe("line1\nline2\u0000\u007F\u0085")).toBe("line1\uFFFDline2\uFFFD\uFFFD\uFFFD");
    expect(displaySafe("tab\there")).toBe("tab here");
  });

  it("leaves ordinary text (including non-Latin scripts and markup-looking text) alone", () => {
    expect(displaySafe("Dana Ilić")).toBe("Dana Ilić");
    expect(displaySafe("محمد")).toBe("محمد");
    expect(displaySafe("<img src=x onerror=alert(1)>")).toBe("<img src=x onerror=alert(1)>");
    expect(displaySafe(null)).toBe("");
  });
});

describe("paths", () => {
  it("splits names and folders", () => {
    expect(baseName("/Finance/2025/Budget.xlsx")).toBe("Budget.xlsx");
    expect(baseName("/contracts/drafts/")).toBe("drafts");
    expect(dirName("/Finance/2025/Budget.xlsx")).toBe("/Finance/2025");
    expect(dirName("/Budget.xlsx")).toBe("/");
  });
});

describe("formatAgo", () => {
  it("counts a past time in 10-second steps under a minute, so its text changes at most every 10 s", () => {
    expect(formatAgo(NOW, NOW)).toBe("just now");
    expect(formatAgo(NOW - 9_999, NOW)).toBe("just now");
    expect(formatAgo(NOW - 10_000, NOW)).toBe("10 s ago");
    expect(formatAgo(NOW - 19_000, NOW)).toBe("10 s ago");
    expect(formatAgo(NOW - 59_000, NOW)).toBe("50 s ago");
    expect(formatAgo(NOW - 61_000, NOW)).toBe("1 min ago");
    expect(formatAgo(NOW - 3 * 3600_000, NOW)).toBe("3 h ago");
  });
});
