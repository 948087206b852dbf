// Which optional features the running shell offers. The snapshot lists them (`features`); a feature
// the shell does not list has no command behind it yet, so the UI shows its controls disabled with
// NOT_YET instead of calling a command that does not exist.

import type { Feature } from "./bindings/Feature";
import type { Lock } from "./bindings/Lock";
import type { Snapshot } from "./bindings/Snapshot";

export const NOT_YET = "Not available yet in this version of Lockwatch";

export const hasFeature = (snap: Pick<Snapshot, "features"> | null | undefined, feature: Feature): boolean =>
  snap?.features.includes(feature) ?? false;

/**
 * Whether this Lockwatch user holds `lock`. The engine does not report it yet (it takes no locks
 * until lock actions land), so no lock is yours; once the engine's `Lock` carries `mine`, this reads it.
 */
export const isMine = (lock: Lock): boolean => (lock as Lock & { mine?: boolean }).mine === true;
