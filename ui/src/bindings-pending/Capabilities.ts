// Hand-written in ts-rs's output format for a command the engine does not have yet (see README.md here).
// When the engine grows the Rust type, derive ts-rs's `TS` on it and delete this file.
import type { AskChannel } from "./AskChannel";
import type { ForceUnlock } from "./ForceUnlock";
import type { LockScope } from "../bindings/LockScope";
import type { ServerKind } from "../bindings/ServerKind";

export type Capabilities = { kind: ServerKind, dav_class2: boolean, scopes: Array<LockScope>, reports_lockdiscovery: boolean, exposes_tokens: boolean, can_force_unlock: ForceUnlock, nextcloud_locking: string | null, lock_type_feature: boolean, ask_channels: Array<AskChannel>, };
