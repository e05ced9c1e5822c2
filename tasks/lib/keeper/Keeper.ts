import { AbiCoder, Contract, formatUnits, Provider, Signer, TransactionReceipt, ZeroAddress } from "ethers";
import type { ChainlinkOracleAdapter, MarginEngine, RebalanceKeeper } from "../../../typechain-types";
import { enumName, SKIP_REASON, STATUS } from "../enums";
import { ErrorDecoder, errorMessage, TokenUnits } from "../errors";
import { assetName } from "../markets";
import { formatTokens, formatWad } from "../units";
import { backoffDelay, DEFAULT_RETRY, isTransient, RetryPolicy } from "./retry";

/** Kinds of log line, one JSON object per line. */
export type KeeperEvent =
  "cycle" | "update" | "execute" | "perform" | "skip" | "split" | "error" | "deferred";

/** Tunables of the keeper service (all optional). */
export interface KeeperOptions {
  /** Most gas (as estimated) one `performUpkeep` may use; larger batches are split. Default 5,000,000. */
  gasBudget?: bigint;
  /** Skip a cycle while the network's gas price is above this (wei). Default: no limit. */
  maxGasPriceWei?: bigint;
  /** Accounts per `checkUpkeep` page, 1 … 2,000. Default 100. */
  pageSize?: number;
  /** Most accounts one `performUpkeep` batch acts on, 1 … `MAX_BATCH`. Default `MAX_BATCH`. */
  maxBatch?: number;
  /** Send nothing; log what would be sent. */
  dryRun?: boolean;
  /** Retries of transient RPC failures. */
  retry?: Partial<RetryPolicy>;
  /** Run a cycle after this long without a new block (ms). Default 15,000. */
  pollIntervalMs?: number;
  /** Gas limit sent = estimate × (1 + margin). Default 0.3. */
  gasLimitMargin?: number;
  /** Give up waiting for a receipt after this long (ms). Default 300,000. */
  txTimeoutMs?: number;
  /** Log lines as JSON objects (default) or as text for people (`formatKeeperLine`). */
  format?: "json" | "text";
}

/** What the keeper runs on. */
export interface KeeperDeps {
  engine: MarginEngine;
  keeper: RebalanceKeeper;
  oracle: ChainlinkOracleAdapter;
  /** Every read, `eth_call` and gas estimate goes through this provider (and is retried). */
  provider: Provider;
  /** Sends the transactions (never retried: a retried send could be sent twice). */
  signer: Signer;
  /** Decodes reverts for the logs; default: the errors of the three contracts. */
  decoder?: ErrorDecoder;
  /** Receives each log line (newline included); default stdout. */
  write?: (line: string) => void;
  /** The settlement token: token amounts are logged in its units beside the raw integers. */
  token?: TokenUnits;
  /** Waits between retries; default an interruptible timer. */
  sleep?: (ms: number) => Promise<void>;
  /** Clock of the `ts` field. */
  now?: () => Date;
}

/** What one cycle did. */
export interface CycleReport {
  status: "done" | "skipped" | "error" | "stopped";
  trigger: string;
  block?: number;
  updates: string[];
  /** Orders executed (ids). */
  orders: string[];
  rebalance: string[];
  liquidate: string[];
  deferred: string[];
  batches: number;
  sent: string[];
}

type Kind = "rebalance" | "liquidate" | "capped";
interface Item {
  kind: Kind;
  account: string;
}
interface Batch {
  items: Item[];
  data: string;
  estimatedGas: bigint;
}
interface Fees {
  gasPrice?: bigint;
  maxFeePerGas?: bigint;
  maxPriorityFeePerGas?: bigint;
}

/** `RebalanceKeeper.MAX_BATCH`: most accounts one `performUpkeep` may rebalance or liquidate. */
export const MAX_BATCH = 200;
/** `RebalanceKeeper.MAX_PAGE`: most accounts one `checkUpkeep` may scan. */
export const MAX_PAGE = 2_000;

const FEED_ABI = [
  "function latestRoundData() view returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound)",
];
const coder = AbiCoder.defaultAbiCoder();
/** Refusals after which an order can never execute: the keeper stops following it. */
const LAPSED_ORDER_ERRORS = new Set([
  "MarginEngineOrderExpired",
  "MarginEngineOrderRoundPassed",
  "MarginEngineUnknownOrder",
]);
const LISTS = ["address[]", "address[]", "address[]"];

/**
 * The keeper service. Each cycle:
 *
 * 1. skips everything (one `skip` line) while the network's gas price is above `maxGasPriceWei`;
 * 2. for every listed market's asset whose feed has a round newer than the adapter recorded, simulates
 *    `oracle.update(asset)` and sends it when it would record an `Ok` price;
 * 3. executes every pending trader order (`engine.executeOrder`) whose fill round has been published: the
 *    orders are followed by id from `engine.orderCount()`; one still waiting for its round is passed over
 *    silently, one that can no longer execute (expired, or a later round landed) is dropped, and any
 *    other refusal is logged once per order and error;
 * 4. pages `RebalanceKeeper.checkUpkeep(abi.encode(start, count))` over `engine.activeAccountCount()`,
 *    every page against the same block, before performing anything (performing reorders the list);
 * 5. splits the accounts found into `performUpkeep` batches whose `estimateGas` fits `gasBudget`
 *    (halving any batch over it) and sends them; a batch whose estimate reverts is logged and not sent.
 *
 * Read-only RPC calls are retried with exponential backoff on transient errors; transactions are sent
 * once. `run()` repeats cycles on new blocks (and every `pollIntervalMs`) until `stop()`.
 */
export class BallastKeeper {
  readonly gasBudget: bigint;
  readonly maxGasPriceWei?: bigint;
  readonly pageSize: number;
  readonly maxBatch: number;
  readonly dryRun: boolean;
  readonly retryPolicy: RetryPolicy;
  readonly pollIntervalMs: number;
  private readonly gasLimitMarginBps: bigint;
  private readonly txTimeoutMs: number;

  private readonly engine: MarginEngine;
  private readonly keeper: RebalanceKeeper;
  private readonly oracle: ChainlinkOracleAdapter;
  private readonly provider: Provider;
  private readonly signer: Signer;
  private readonly decoder: ErrorDecoder;
  private readonly write: (line: string) => void;
  private readonly token?: TokenUnits;
  private readonly format: "json" | "text";
  private readonly sleepFn?: (ms: number) => Promise<void>;
  private readonly now: () => Date;

  /** Feed round per asset already handled (updated, or skipped for its status). */
  private readonly handledRounds = new Map<string, bigint>();
  private from?: string;
  private stopping = false;
  private running = false;
  private pendingTrigger?: string;
  private wake?: () => void;
  private cancelSleep?: () => void;
  private lastBlock = -1;
  /** The next order id not yet followed, the orders followed, and the last refusal logged per order. */
  private nextOrderId = 1n;
  private readonly openOrders = new Set<bigint>();
  private readonly orderSkips = new Map<bigint, string>();

  constructor(deps: KeeperDeps, options: KeeperOptions = {}) {
    this.gasBudget = options.gasBudget ?? 5_000_000n;
    this.maxGasPriceWei = options.maxGasPriceWei;
    this.pageSize = options.pageSize ?? 100;
    this.maxBatch = options.maxBatch ?? MAX_BATCH;
    this.dryRun = options.dryRun ?? false;
    this.retryPolicy = { ...DEFAULT_RETRY, ...options.retry };
    this.pollIntervalMs = options.pollIntervalMs ?? 15_000;
    this.gasLimitMarginBps = BigInt(Math.round((options.gasLimitMargin ?? 0.3) * 10_000));
    this.txTimeoutMs = options.txTimeoutMs ?? 300_000;
    if (this.gasBudget <= 0n) throw new Error("gas budget must be positive");
    if (!Number.isInteger(this.pageSize) || this.pageSize < 1 || this.pageSize > MAX_PAGE) {
      throw new Error(`page size must be an integer in 1..${MAX_PAGE}`);
    }
    if (!Number.isInteger(this.maxBatch) || this.maxBatch < 1 || this.maxBatch > MAX_BATCH) {
      throw new Error(`max batch must be an integer in 1..${MAX_BATCH}`);
    }
    if (!Number.isInteger(this.retryPolicy.attempts) || this.retryPolicy.attempts < 1) {
      throw new Error("retry attempts must be at least 1");
    }

    this.provider = deps.provider;
    this.signer = deps.signer;
    this.engine = deps.engine.connect(deps.provider);
    this.keeper = deps.keeper.connect(deps.provider);
    this.oracle = deps.oracle.connect(deps.provider);
    this.decoder =
      deps.decoder ??
      ErrorDecoder.fromInterfaces([this.engine.interface, this.keeper.interface, this.oracle.interface]);
    this.write = deps.write ?? ((line) => process.stdout.write(line));
    this.token = deps.token;
    this.format = options.format ?? "json";
    this.sleepFn = deps.sleep;
    this.now = deps.now ?? (() => new Date());
  }

  // ------------------------------------------------------------------ lifecycle

  /** Runs cycles on every new block (and every `pollIntervalMs` without one) until `stop()`. */
  async run(): Promise<void> {
    if (this.running) throw new Error("the keeper is already running");
    this.running = true;
    const onBlock = () => this.trigger("block");
    await this.provider.on("block", onBlock);
    try {
      let trigger = "start";
      while (!this.stopping) {
        if (trigger !== "block" || (await this.blockAdvanced())) await this.runCycle(trigger);
        if (this.stopping) break;
        trigger = await this.nextTrigger();
      }
    } finally {
      await this.provider.off("block", onBlock);
      this.wake = undefined;
      this.running = false;
    }
  }

  /**
   * Asks `run()` to return (for good: a stopped keeper does not run again): the current cycle sends
   * nothing more, and pending waits end now.
   */
  stop(): void {
    this.stopping = true;
    this.wake?.();
    this.cancelSleep?.();
  }

  /** Whether `stop()` was called. */
  get stopped(): boolean {
    return this.stopping;
  }

  /** Whether the chain moved past the block of the last scan (true when that cannot be read). */
  private async blockAdvanced(): Promise<boolean> {
    try {
      return (await this.provider.getBlockNumber()) > this.lastBlock;
    } catch {
      return true;
    }
  }

  private trigger(reason: string) {
    this.pendingTrigger ??= reason;
    this.wake?.();
  }

  private nextTrigger(): Promise<string> {
    return new Promise((resolve) => {
      const done = (reason: string) => {
        clearTimeout(timer);
        this.wake = undefined;
        const trigger = this.pendingTrigger ?? reason;
        this.pendingTrigger = undefined;
        resolve(trigger);
      };
      const timer = setTimeout(() => done("poll"), this.pollIntervalMs);
      this.wake = () => done("block");
      if (this.pendingTrigger !== undefined || this.stopping) done("block");
    });
  }

  // ------------------------------------------------------------------ one cycle

  /** One cycle (see the class comment). Never throws: failures are logged and reported. */
  async runCycle(trigger = "once"): Promise<CycleReport> {
    const started = Date.now();
    const report: CycleReport = {
      status: "done",
      trigger,
      updates: [],
      orders: [],
      rebalance: [],
      liquidate: [],
      deferred: [],
      batches: 0,
      sent: [],
    };
    let stage = "start";
    const finish = (status: CycleReport["status"], extra: Record<string, unknown> = {}) => {
      report.status = status;
      this.log("cycle", {
        status,
        trigger,
        block: report.block ?? null,
        rebalance: report.rebalance.length,
        liquidate: report.liquidate.length,
        deferred: report.deferred.length,
        updates: report.updates.length,
        orders: report.orders.length,
        batches: report.batches,
        sent: report.sent.length,
        dryRun: this.dryRun,
        durationMs: Date.now() - started,
        ...extra,
      });
      return report;
    };
    try {
      this.from ??= await this.signer.getAddress();

      stage = "gas-price";
      const fees = await this.feeOverrides();
      if (fees === undefined) return finish("skipped", { reason: "gas-price" });

      stage = "update";
      await this.updateFeeds(report, fees);
      if (this.stopping) return finish("stopped");

      stage = "orders";
      await this.executeOrders(report, fees);
      if (this.stopping) return finish("stopped");

      stage = "scan";
      const block = await this.retry("blockNumber", () => this.provider.getBlockNumber());
      report.block = block;
      this.lastBlock = block;
      const items = await this.scan(block, report);
      for (const account of report.deferred) this.log("deferred", { account, block });

      stage = "estimate";
      const batches = await this.plan(items);
      report.batches = batches.length;

      stage = "perform";
      for (let i = 0; i < batches.length; i++) {
        if (this.stopping) return finish("stopped");
        await this.perform(batches[i], i, batches.length, fees, report);
      }
      return finish("done");
    } catch (error) {
      if (this.stopping) return finish("stopped");
      this.log("error", { stage, message: errorMessage(error), transient: isTransient(error) });
      return finish("error", { stage });
    }
  }

  /**
   * `undefined` when the gas price is above the limit (logged); otherwise the fee fields to send with:
   * capped at the limit when there is one, the provider's defaults when not.
   */
  private async feeOverrides(): Promise<Fees | undefined> {
    const max = this.maxGasPriceWei;
    if (max === undefined) return {};
    const fee = await this.retry("feeData", () => this.provider.getFeeData());
    const price = fee.gasPrice ?? fee.maxFeePerGas;
    if (price !== null && price > max) {
      this.log("skip", {
        reason: "gas-price",
        gasPriceGwei: formatUnits(price, "gwei"),
        maxGasPriceGwei: formatUnits(max, "gwei"),
      });
      return undefined;
    }
    if (fee.maxFeePerGas !== null) {
      const tip = fee.maxPriorityFeePerGas ?? 0n;
      return { maxFeePerGas: max, maxPriorityFeePerGas: tip < max ? tip : max };
    }
    return { gasPrice: price ?? max };
  }

  // ------------------------------------------------------------------ oracle rounds

  /** Records each asset's new feed round with `oracle.update` when it would record an `Ok` price. */
  private async updateFeeds(report: CycleReport, fees: Fees) {
    const count = await this.retry("marketCount", () => this.engine.marketCount());
    const assets = new Set<string>();
    for (let id = 1n; id <= count; id++) {
      const { asset } = await this.retry("marketConfig", () => this.engine.marketConfig(id));
      assets.add(asset);
    }
    for (const asset of assets) {
      if (this.stopping) return;
      const name = assetName(asset);
      const { feed } = await this.retry("feedConfig", () => this.oracle.feedConfig(asset));
      if (feed === ZeroAddress) continue;
      const aggregator = new Contract(feed, FEED_ABI, this.provider);
      let round: bigint;
      try {
        round = (await this.retry("latestRoundData", () => aggregator.latestRoundData()))[0] as bigint;
      } catch (error) {
        if (isTransient(error)) throw error;
        if (this.handledRounds.get(asset) !== -1n) {
          this.log("skip", { reason: "feed-unreadable", asset: name, feed, error: errorMessage(error) });
        }
        this.handledRounds.set(asset, -1n);
        continue;
      }
      const [, , recorded] = await this.retry("lastGoodPrice", () => this.oracle.lastGoodPrice(asset));
      if (round <= recorded || this.handledRounds.get(asset) === round) continue;

      const data = this.oracle.interface.encodeFunctionData("update", [asset]);
      let result;
      try {
        result = await this.retry("update.staticCall", () =>
          this.oracle.update.staticCall(asset, { from: this.from }),
        );
      } catch (error) {
        const decoded = this.decoder.describe(error);
        if (decoded === undefined) throw error;
        this.log("skip", {
          reason: "would-revert",
          target: "update",
          asset: name,
          roundId: round,
          error: decoded.message,
        });
        this.handledRounds.set(asset, round);
        continue;
      }
      const [priceWad, status] = result;
      const statusName = enumName(STATUS, status);
      if (statusName !== "Ok") {
        this.log("skip", {
          reason: "price-status",
          target: "update",
          asset: name,
          roundId: round,
          status: statusName,
        });
        this.handledRounds.set(asset, round);
        continue;
      }
      const base = { asset: name, roundId: round, price: formatWad(priceWad) };
      if (this.dryRun) {
        this.log("update", { ...base, dryRun: true });
      } else {
        const sent = await this.send("update", data, await this.oracle.getAddress(), fees, base);
        if (sent === undefined) continue;
        report.sent.push(sent.hash);
        this.log("update", { ...base, tx: sent.hash, gasUsed: sent.gasUsed });
      }
      report.updates.push(name);
      this.handledRounds.set(asset, round);
    }
  }

  // ------------------------------------------------------------------ orders

  /** Executes the pending orders whose fill round has been published (see the class comment). */
  private async executeOrders(report: CycleReport, fees: Fees) {
    const count = await this.retry("orderCount", () => this.engine.orderCount());
    for (; this.nextOrderId <= count; this.nextOrderId++) this.openOrders.add(this.nextOrderId);
    const engineAddress = await this.engine.getAddress();
    for (const id of [...this.openOrders].sort((a, b) => (a < b ? -1 : 1))) {
      if (this.stopping) return;
      const order = await this.retry("pendingOrder", () => this.engine.pendingOrder(id));
      if (order.account === ZeroAddress) {
        this.forgetOrder(id);
        continue;
      }
      const context = { orderId: id, account: order.account };
      const data = this.engine.interface.encodeFunctionData("executeOrder", [id]);
      let gas: bigint;
      try {
        gas = await this.retry("estimateGas", () =>
          this.provider.estimateGas({ from: this.from, to: engineAddress, data }),
        );
      } catch (error) {
        const decoded = this.decoder.describe(error);
        if (decoded === undefined) throw error;
        if (decoded.name === "MarginEngineOrderAwaitingRound") continue;
        if (LAPSED_ORDER_ERRORS.has(decoded.name)) this.forgetOrder(id);
        else if (this.orderSkips.get(id) === decoded.message) continue;
        else this.orderSkips.set(id, decoded.message);
        this.log("skip", {
          reason: "would-revert",
          target: "executeOrder",
          ...context,
          error: decoded.message,
        });
        continue;
      }
      if (this.dryRun) {
        this.log("execute", { ...context, dryRun: true });
        continue;
      }
      const sent = await this.send("executeOrder", data, engineAddress, fees, context, gas);
      if (sent === undefined) continue;
      this.forgetOrder(id);
      report.sent.push(sent.hash);
      report.orders.push(id.toString());
      this.log("execute", { ...context, tx: sent.hash, gasUsed: sent.gasUsed });
    }
  }

  private forgetOrder(id: bigint) {
    this.openOrders.delete(id);
    this.orderSkips.delete(id);
  }

  // ------------------------------------------------------------------ scan and batches

  /** Every page of `checkUpkeep` at `block`: accounts to rebalance, liquidate, and capped ones. */
  private async scan(block: number, report: CycleReport): Promise<Item[]> {
    const count = Number(
      await this.retry("activeAccountCount", () => this.engine.activeAccountCount({ blockTag: block })),
    );
    const rebalance = new Set<string>();
    const liquidate = new Set<string>();
    const capped = new Set<string>();
    for (let start = 0; start < count; start += this.pageSize) {
      const checkData = coder.encode(["uint256", "uint256"], [start, this.pageSize]);
      const [, performData] = await this.retry("checkUpkeep", () =>
        this.keeper.checkUpkeep(checkData, { blockTag: block }),
      );
      const [r, l, c] = coder.decode(LISTS, performData) as unknown as [string[], string[], string[]];
      r.forEach((a) => rebalance.add(a));
      l.forEach((a) => liquidate.add(a));
      c.forEach((a) => capped.add(a));
    }
    report.rebalance = [...rebalance];
    report.liquidate = [...liquidate];
    report.deferred = [...capped];
    return [
      ...report.rebalance.map((account) => ({ kind: "rebalance" as const, account })),
      ...report.liquidate.map((account) => ({ kind: "liquidate" as const, account })),
      ...report.deferred.map((account) => ({ kind: "capped" as const, account })),
    ];
  }

  private encode(items: Item[]): string {
    const of = (kind: Kind) => items.filter((i) => i.kind === kind).map((i) => i.account);
    const performData = coder.encode(LISTS, [of("rebalance"), of("liquidate"), of("capped")]);
    return this.keeper.interface.encodeFunctionData("performUpkeep", [performData]);
  }

  /**
   * Batches of at most `maxBatch` actions whose estimated gas fits the budget: a batch over it, or one
   * whose estimate the node refuses outright (not a revert, not transient), is halved until it fits; a
   * single account over the budget is skipped. Capped accounts ride along (the contract
   * re-emits `DeleverageDeferred` for them) but never make a batch on their own.
   */
  private async plan(items: Item[]): Promise<Batch[]> {
    const acting = items.filter((i) => i.kind !== "capped").length;
    if (acting === 0) return [];
    if (acting > this.maxBatch) return this.halve(items);
    const data = this.encode(items);
    let estimatedGas: bigint | undefined;
    try {
      estimatedGas = await this.estimate(data, await this.keeper.getAddress(), items);
    } catch (error) {
      // Not a revert and not transient: typically a node refusing an estimate above its per-transaction
      // or block gas cap ("gas limit … greater than the cap"). Halves fit; one account alone rethrows.
      if (acting > 1 && !isTransient(error)) {
        this.log("split", { reason: "estimate-refused", ...this.lists(items), error: errorMessage(error) });
        return this.halve(items);
      }
      throw error;
    }
    if (estimatedGas === undefined) return [];
    if (estimatedGas <= this.gasBudget) return [{ items, data, estimatedGas }];
    if (items.length === 1) {
      this.log("skip", {
        reason: "over-gas-budget",
        ...this.lists(items),
        estimatedGas,
        gasBudget: this.gasBudget,
      });
      return [];
    }
    return this.halve(items);
  }

  private async halve(items: Item[]): Promise<Batch[]> {
    const mid = Math.ceil(items.length / 2);
    return [...(await this.plan(items.slice(0, mid))), ...(await this.plan(items.slice(mid)))];
  }

  /** `estimateGas` of `data` to `to`; `undefined` (logged as a skip) when it would revert. */
  private async estimate(data: string, to: string, items: Item[]): Promise<bigint | undefined> {
    try {
      return await this.retry("estimateGas", () => this.provider.estimateGas({ from: this.from, to, data }));
    } catch (error) {
      const decoded = this.decoder.describe(error);
      if (decoded === undefined) throw error;
      this.log("skip", {
        reason: "would-revert",
        target: "performUpkeep",
        ...this.lists(items),
        error: decoded.message,
      });
      return undefined;
    }
  }

  private async perform(batch: Batch, index: number, total: number, fees: Fees, report: CycleReport) {
    const lists = this.lists(batch.items);
    const base = { batch: index + 1, of: total, ...lists };
    if (this.dryRun) {
      this.log("perform", { ...base, estimatedGas: batch.estimatedGas, dryRun: true });
      return;
    }
    const to = await this.keeper.getAddress();
    // The first batch was estimated just now; later ones run on a state the earlier ones changed.
    const estimatedGas = index === 0 ? batch.estimatedGas : await this.estimate(batch.data, to, batch.items);
    if (estimatedGas === undefined) return;
    const sent = await this.send("performUpkeep", batch.data, to, fees, base, estimatedGas);
    if (sent === undefined) return;
    report.sent.push(sent.hash);

    const rebalanced: string[] = [];
    const liquidated: string[] = [];
    let skipped = 0;
    let rewardTokens = 0n;
    const engineAddress = (await this.engine.getAddress()).toLowerCase();
    for (const log of sent.receipt.logs) {
      const address = log.address.toLowerCase();
      const source =
        address === engineAddress ? this.engine : address === to.toLowerCase() ? this.keeper : undefined;
      const parsed = source?.interface.parseLog(log) ?? null;
      if (parsed === null) continue;
      if (parsed.name === "Rebalanced") rebalanced.push(parsed.args.account);
      else if (parsed.name === "Liquidated") liquidated.push(parsed.args.account);
      else if (parsed.name === "UpkeepPerformed") rewardTokens = parsed.args.rewardTokens;
      else if (parsed.name === "AccountSkipped") {
        skipped++;
        this.log("skip", {
          reason: "account-skipped",
          account: parsed.args.account,
          action: enumName(SKIP_REASON, parsed.args.reason),
          error: this.decoder.nameOf(parsed.args.errorSelector),
          tx: sent.hash,
        });
      }
    }
    this.log("perform", {
      ...base,
      tx: sent.hash,
      estimatedGas,
      gasUsed: sent.gasUsed,
      rebalanced,
      liquidated,
      skipped,
      rewardTokens,
      ...(this.token === undefined
        ? {}
        : { reward: `${formatTokens(rewardTokens, this.token.decimals)} ${this.token.symbol}` }),
    });
  }

  private lists(items: Item[]) {
    const of = (kind: Kind) => items.filter((i) => i.kind === kind).map((i) => i.account);
    return { rebalance: of("rebalance"), liquidate: of("liquidate"), capped: of("capped") };
  }

  // ------------------------------------------------------------------ sending

  /**
   * Sends `data` to `to` with a gas limit of the estimate plus margin, once, and waits for the receipt.
   * Estimates first when no estimate is given; a revert (estimated or mined) is logged, not thrown.
   */
  private async send(
    what: string,
    data: string,
    to: string,
    fees: Fees,
    context: Record<string, unknown>,
    estimatedGas?: bigint,
  ): Promise<{ hash: string; gasUsed: bigint; receipt: TransactionReceipt } | undefined> {
    let gas = estimatedGas;
    if (gas === undefined) {
      try {
        gas = await this.retry("estimateGas", () => this.provider.estimateGas({ from: this.from, to, data }));
      } catch (error) {
        const decoded = this.decoder.describe(error);
        if (decoded === undefined) throw error;
        this.log("skip", { reason: "would-revert", target: what, ...context, error: decoded.message });
        return undefined;
      }
    }
    if (this.stopping) return undefined;
    const gasLimit = (gas * (10_000n + this.gasLimitMarginBps)) / 10_000n;
    let hash: string | undefined;
    try {
      const tx = await this.signer.sendTransaction({ to, data, gasLimit, ...fees });
      hash = tx.hash;
      const receipt = await tx.wait(1, this.txTimeoutMs);
      if (receipt === null) throw new Error("no receipt");
      return { hash, gasUsed: receipt.gasUsed, receipt };
    } catch (error) {
      const decoded = this.decoder.describe(error);
      this.log("error", {
        stage: what,
        ...context,
        ...(hash === undefined ? {} : { tx: hash }),
        message: decoded?.message ?? errorMessage(error),
        transient: isTransient(error),
      });
      return undefined;
    }
  }

  // ------------------------------------------------------------------ plumbing

  /** `fn()`, retried with exponential backoff while it fails transiently (each retry logged). */
  async retry<T>(stage: string, fn: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn();
      } catch (error) {
        if (!isTransient(error) || attempt >= this.retryPolicy.attempts || this.stopping) throw error;
        const delayMs = backoffDelay(this.retryPolicy, attempt);
        this.log("error", {
          stage,
          message: errorMessage(error),
          transient: true,
          attempt,
          retryInMs: delayMs,
        });
        await this.sleep(delayMs);
        if (this.stopping) throw error;
      }
    }
  }

  private sleep(ms: number): Promise<void> {
    if (this.sleepFn !== undefined) return this.sleepFn(ms);
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.cancelSleep = done;
    });
  }

  private log(event: KeeperEvent, fields: Record<string, unknown>) {
    const record = { ts: this.now().toISOString(), event, ...fields };
    const line =
      this.format === "text"
        ? formatKeeperLine(record, this.token)
        : JSON.stringify(record, (_k, v) => (typeof v === "bigint" ? v.toString() : v));
    this.write(line + "\n");
  }
}

/**
 * A log record as one line for people: `<ts> <event> key=value …`, lists comma-separated, token amounts
 * (`*Tokens`) as `1 USDC (1000000 raw)`, a human field that repeats a raw one (`reward`) left out.
 */
export function formatKeeperLine(record: Record<string, unknown>, token?: TokenUnits): string {
  const { ts, event, ...fields } = record;
  const parts: string[] = [];
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    if (key === "reward" && "rewardTokens" in fields && token !== undefined) continue;
    let text: string;
    if (Array.isArray(value)) text = value.length === 0 ? "-" : value.map(String).join(",");
    else if (typeof value === "object" && value !== null) text = JSON.stringify(value);
    else text = String(value);
    if (/Tokens$/.test(key) && token !== undefined && /^-?\d+$/.test(text)) {
      text = `${formatTokens(BigInt(text), token.decimals)} ${token.symbol} (${text} raw)`;
      parts.push(`${key.replace(/Tokens$/, "")}=${text}`);
    } else {
      parts.push(`${key}=${/\s/.test(text) ? JSON.stringify(text) : text}`);
    }
  }
  return `${String(ts)} ${String(event)}${parts.length > 0 ? " " + parts.join(" ") : ""}`;
}
