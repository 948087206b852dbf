// Hand-written in ts-rs's output format for a command the engine does not have yet (see README.md here).
// When the engine grows the Rust type, derive ts-rs's `TS` on it and delete this file.
export type ForceUnlock = "yes" | "no" | "unknown";
