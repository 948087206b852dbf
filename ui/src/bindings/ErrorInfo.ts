// Hand-written in the exact shape ts-rs generates from the Rust engine; replace with the generated file.
import type { ErrorKind } from "./ErrorKind";

export type ErrorInfo = { kind: ErrorKind, message: string, };
