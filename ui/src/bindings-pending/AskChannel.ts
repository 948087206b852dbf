// Hand-written in the exact shape ts-rs generates from the Rust engine; replace with the generated file.
export type AskChannel = "talk" | "comment" | "mail" | "webhook";
