// Hand-written in the exact shape ts-rs generates from the Rust engine; replace with the generated file.
export type HistoryEntry = { server: string, path: string, holder: string | null, holder_id: string | null, editor: string | null, from: string, to: string | null, stale: boolean, };
