// Hand-written in the exact shape ts-rs generates from the Rust engine; replace with the generated file.
import type { ErrorInfo } from "./ErrorInfo";
import type { FileState } from "./FileState";
import type { Lock } from "./Lock";

export type FileEntry = { server: string, path: string, 
/**
 * The file's name where the path does not show it (WOPI).
 */
name?: string, url: string, state: FileState, locks: Array<Lock>, error: ErrorInfo | null, wanted: boolean, };
