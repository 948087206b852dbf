// Hand-written in the exact shape ts-rs generates from the Rust engine; replace with the generated file.
import type { ServerKindSetting } from "./ServerKindSetting";

export type ServerSettings = { name: string, kind: ServerKindSetting, url: string, username: string | null, password_env: string | null, has_password: boolean, watch: Array<string>, wanted: Array<string>, };
