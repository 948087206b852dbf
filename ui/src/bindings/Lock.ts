// Hand-written in the exact shape ts-rs generates from the Rust engine; replace with the generated file.
import type { Expiry } from "./Expiry";
import type { LockKind } from "./LockKind";
import type { LockScope } from "./LockScope";

export type Lock = { owner: string | null, owner_id: string | null, editor: string | null, scope: LockScope, kind: LockKind, token: string | null, depth: string, root: string | null, 
/**
 * RFC 3339, UTC.
 */
acquired_at: string | null, 
/**
 * RFC 3339, UTC. Null when `expiry` is "never" or "unknown".
 */
expires_at: string | null, expiry: Expiry, timeout: string | null, 
/**
 * The lock comes from a folder's depth-infinity lock (see `root`).
 */
inherited: boolean, };
