export { BallastKeeper, formatKeeperLine, MAX_BATCH, MAX_PAGE } from "./Keeper";
export type { CycleReport, KeeperDeps, KeeperEvent, KeeperOptions } from "./Keeper";
export { backoffDelay, DEFAULT_RETRY, isTransient } from "./retry";
export type { RetryPolicy } from "./retry";
