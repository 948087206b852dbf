// Hand-written in ts-rs's output format for a command the engine does not have yet (see README.md here).
// When the engine grows the Rust type, derive ts-rs's `TS` on it and delete this file.
export type HistoryEntry = { server: string, path: string, holder: string | null, holder_id: string | null, editor: string | null, from: string, to: string | null, stale: boolean, };
