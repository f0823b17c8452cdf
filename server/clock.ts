/**
 * The one source of "now" for rules that depend on time (login limits today; waiting periods, expiries and
 * reminders later). Passed in through createApp's deps, so tests move time instead of sleeping.
 */
export interface Clock {
  /** milliseconds since the epoch, UTC */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };
