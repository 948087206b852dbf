// Who holds what, from this user's side.

import type { Lock } from "./bindings/Lock";

/** Whether this Lockwatch user holds `lock` (taken through Lockwatch; the engine marks it). */
export const isMine = (lock: Lock): boolean => lock.mine;
