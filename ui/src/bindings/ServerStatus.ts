// Hand-written in the exact shape ts-rs generates from the Rust engine; replace with the generated file.
import type { ErrorInfo } from "./ErrorInfo";
import type { ServerKind } from "./ServerKind";

export type ServerStatus = { name: string, kind: ServerKind | null, ok: boolean, error: ErrorInfo | null, retry_in_secs: number | null, checked_at: string | null, };
