// Hand-written in ts-rs's output format for a command the engine does not have yet (see README.md here).
// When the engine grows the Rust type, derive ts-rs's `TS` on it and delete this file.
import type { FileEntry } from "../bindings/FileEntry";

export type ActionOutcome = { file: FileEntry, 
/**
 * One human sentence of what is now true.
 */
outcome: string, };
