// Hand-written in the exact shape ts-rs generates from the Rust engine; replace with the generated file.
export type ErrorKind = "unauthorized" | "forbidden" | "not_found" | "locked" | "conflict" | "unsupported" | "network" | "timeout" | "tls" | "too_large" | "protocol" | "server" | "config" | "internal";
