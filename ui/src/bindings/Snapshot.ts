// Hand-written in the exact shape ts-rs generates from the Rust engine; replace with the generated file.
import type { FileEntry } from "./FileEntry";
import type { ServerStatus } from "./ServerStatus";

export type Snapshot = { servers: Array<ServerStatus>, files: Array<FileEntry>, demo: boolean, paused: boolean, generated_at: string, };
