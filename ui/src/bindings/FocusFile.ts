// Hand-written in the exact shape ts-rs generates from the Rust engine; replace with the generated file.
export type FocusFile = { server: string, path: string, };
