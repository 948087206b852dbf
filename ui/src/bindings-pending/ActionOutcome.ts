// Hand-written in the exact shape ts-rs generates from the Rust engine; replace with the generated file.
import type { FileEntry } from "./FileEntry";

export type ActionOutcome = { file: FileEntry, 
/**
 * One human sentence of what is now true.
 */
outcome: string, };
