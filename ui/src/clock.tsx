// One clock for the whole window. Countdowns read `useNow()` instead of each starting a timer,
// so every "in 45 s" on screen ticks together and tests drive them all with fake timers.

import { createContext, type ComponentChildren } from "preact";
import { useContext, useEffect, useState } from "preact/hooks";

const NowContext = createContext<number>(Date.now());

export function ClockProvider({ children }: { children: ComponentChildren }) {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, []);
  return <NowContext.Provider value={now}>{children}</NowContext.Provider>;
}

export const useNow = () => useContext(NowContext);
