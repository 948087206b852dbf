// Hand-written in the exact shape ts-rs generates from the Rust engine; replace with the generated file.
import type { AskChannel } from "./AskChannel";
import type { ForceUnlock } from "./ForceUnlock";
import type { LockScope } from "./LockScope";
import type { ServerKind } from "./ServerKind";

export type Capabilities = { kind: ServerKind, dav_class2: boolean, scopes: Array<LockScope>, reports_lockdiscovery: boolean, exposes_tokens: boolean, can_force_unlock: ForceUnlock, nextcloud_locking: string | null, lock_type_feature: boolean, ask_channels: Array<AskChannel>, };
