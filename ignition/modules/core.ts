import type { ArgumentType, IgnitionModuleBuilder } from "@nomicfoundation/ignition-core";
import { encodeBytes32String, parseEther, parseUnits } from "ethers";

/** Asset keys used by the oracle adapter and the markets. */
export const ETH = encodeBytes32String("ETH");
export const BTC = encodeBytes32String("BTC");

/**
 * Protocol defaults. Every value can be overridden through the module parameters; the parameters
 * files in `ignition/parameters/` show each one.
 */
export const DEFAULTS = {
  liquidation: {
    targetHealthWad: parseEther("1.25"),
    liquidatorShareWad: parseEther("0.5"),
    maxLiquidatorRewardTokens: parseUnits("5000", 6),
  },
  reserveFactorWad: parseEther("0.2"),
  keeperRewardTokens: parseUnits("1", 6),
  lensHorizonSeconds: 3_600,
  heartbeat: 3_900, // Chainlink ETH/USD and BTC/USD publish at least hourly; 5 min of slack.
  // At most every market's maintenance margin (2%): one round graded `Ok` cannot take an account that
  // is not liquidatable below zero equity. ETH/USD and BTC/USD publish every 0.5% move.
  maxDeviationWad: parseEther("0.02"),
  sequencerGracePeriod: 3_600,
  volatilityStrategy: {
    pMaxWad: parseEther("0.01"),
    pTargetWad: parseEther("0.001"),
    horizonSeconds: 3_600,
    turbulenceVolatilityWad: parseEther("1.5"),
    turbulenceTargetMultiplierWad: parseEther("1.25"),
  },
  eth: {
    volatility: {
      initialVolatilityWad: parseEther("0.8"),
      ewmaWindow: 21_600,
      volatilityFeed: "0x0000000000000000000000000000000000000000",
      volatilityFeedHeartbeat: 0,
    },
    minPriceWad: parseEther("1"),
    maxPriceWad: parseEther("1000000"),
    market: {
      asset: ETH,
      imrWad: parseEther("0.04"),
      mmrWad: parseEther("0.02"),
      feeWad: parseEther("0.0005"),
      liquidationPenaltyWad: parseEther("0.01"),
      maxOpenInterestWad: parseEther("100000"),
    },
  },
  btc: {
    volatility: {
      initialVolatilityWad: parseEther("0.6"),
      ewmaWindow: 21_600,
      volatilityFeed: "0x0000000000000000000000000000000000000000",
      volatilityFeedHeartbeat: 0,
    },
    minPriceWad: parseEther("10"),
    maxPriceWad: parseEther("10000000"),
    market: {
      asset: BTC,
      imrWad: parseEther("0.04"),
      mmrWad: parseEther("0.02"),
      feeWad: parseEther("0.0005"),
      liquidationPenaltyWad: parseEther("0.01"),
      maxOpenInterestWad: parseEther("5000"),
    },
  },
};

/**
 * Deploys and wires the whole protocol on `token` with the ETH/USD and BTC/USD feeds given. Shared by
 * the parameterised `Ballast` module (real networks) and `BallastLocal` (mocks).
 */
export function deployCore(
  m: IgnitionModuleBuilder,
  token: ArgumentType,
  ethFeed: ArgumentType,
  btcFeed: ArgumentType,
) {
  // The deployer is the first admin, so that it can wire the contracts; hand the role to a timelock
  // afterwards (README: "Roles after deployment").
  const deployer = m.getAccount(0);
  const guardianAccount = m.getParameter("guardianAccount", deployer);
  const riskAdmin = m.getParameter("riskAdmin", deployer);

  const guardian = m.contract("PauseGuardian", [deployer, guardianAccount, riskAdmin]);
  const oracle = m.contract("ChainlinkOracleAdapter", [
    guardian,
    m.getParameter("sequencerFeed", "0x0000000000000000000000000000000000000000"),
    m.getParameter("sequencerGracePeriod", DEFAULTS.sequencerGracePeriod),
  ]);
  const vault = m.contract("CollateralVault", [token, guardian]);
  const pool = m.contract("LiquidityPool", [
    token,
    guardian,
    m.getParameter("poolName", "Ballast LP"),
    m.getParameter("poolSymbol", "blLP"),
  ]);
  const tradeLogic = m.library("TradeLogic");
  const orderLogic = m.library("OrderLogic");
  const liquidationLogic = m.library("LiquidationLogic");
  const rebalanceLogic = m.library("RebalanceLogic");
  const rebalancePreview = m.library("RebalancePreview");
  const engine = m.contract(
    "MarginEngine",
    [
      vault,
      pool,
      oracle,
      guardian,
      m.getParameter("liquidationParams", DEFAULTS.liquidation),
      m.getParameter("reserveFactorWad", DEFAULTS.reserveFactorWad),
    ],
    {
      libraries: {
        TradeLogic: tradeLogic,
        OrderLogic: orderLogic,
        LiquidationLogic: liquidationLogic,
        RebalanceLogic: rebalanceLogic,
        RebalancePreview: rebalancePreview,
      },
    },
  );
  const vaultWired = m.call(vault, "setEngine", [engine]);
  const poolWired = m.call(pool, "setEngine", [engine]);

  const heartbeat = m.getParameter("heartbeat", DEFAULTS.heartbeat);
  const maxDeviationWad = m.getParameter("maxDeviationWad", DEFAULTS.maxDeviationWad);
  const ethFeedSet = m.call(
    oracle,
    "setFeed",
    [
      ETH,
      ethFeed,
      heartbeat,
      m.getParameter("ethMinPriceWad", DEFAULTS.eth.minPriceWad),
      m.getParameter("ethMaxPriceWad", DEFAULTS.eth.maxPriceWad),
      maxDeviationWad,
    ],
    { id: "setFeedETH" },
  );
  const btcFeedSet = m.call(
    oracle,
    "setFeed",
    [
      BTC,
      btcFeed,
      heartbeat,
      m.getParameter("btcMinPriceWad", DEFAULTS.btc.minPriceWad),
      m.getParameter("btcMaxPriceWad", DEFAULTS.btc.maxPriceWad),
      maxDeviationWad,
    ],
    { id: "setFeedBTC" },
  );
  const ethListed = m.call(engine, "listMarket", [m.getParameter("ethMarket", DEFAULTS.eth.market)], {
    id: "listMarketETH",
    after: [ethFeedSet, vaultWired, poolWired],
  });
  const btcListed = m.call(engine, "listMarket", [m.getParameter("btcMarket", DEFAULTS.btc.market)], {
    id: "listMarketBTC",
    after: [btcFeedSet, ethListed],
  });

  // Deviation bounds set later must stay within the markets' maintenance margins (and vice versa).
  m.call(oracle, "setRiskConsumer", [engine], { after: [btcListed] });

  m.call(engine, "setKeeperReward", [m.getParameter("keeperRewardTokens", DEFAULTS.keeperRewardTokens)]);

  // Volatility estimates for the volatility-scaled strategy (EWMA of observed returns; a Chainlink
  // realised-volatility feed can be added per asset with `setVolatilityConfig`).
  m.call(oracle, "setVolatilityConfig", [ETH, m.getParameter("ethVolatility", DEFAULTS.eth.volatility)], {
    id: "setVolatilityETH",
    after: [ethFeedSet],
  });
  m.call(oracle, "setVolatilityConfig", [BTC, m.getParameter("btcVolatility", DEFAULTS.btc.volatility)], {
    id: "setVolatilityBTC",
    after: [btcFeedSet],
  });

  const thresholdStrategy = m.contract("ThresholdStrategy", []);
  const v = DEFAULTS.volatilityStrategy;
  const volatilityStrategy = m.contract("VolatilityScaledStrategy", [
    m.getParameter("pMaxWad", v.pMaxWad),
    m.getParameter("pTargetWad", v.pTargetWad),
    m.getParameter("horizonSeconds", v.horizonSeconds),
    m.getParameter("turbulenceVolatilityWad", v.turbulenceVolatilityWad),
    m.getParameter("turbulenceTargetMultiplierWad", v.turbulenceTargetMultiplierWad),
  ]);
  m.call(engine, "setStrategyApproval", [thresholdStrategy, true], { id: "approveThreshold" });
  m.call(engine, "setStrategyApproval", [volatilityStrategy, true], { id: "approveVolatility" });
  const keeper = m.contract("RebalanceKeeper", [engine]);
  const lens = m.contract("AccountLens", [
    engine,
    m.getParameter("lensHorizonSeconds", DEFAULTS.lensHorizonSeconds),
  ]);

  return { guardian, oracle, vault, pool, engine, keeper, lens, thresholdStrategy, volatilityStrategy };
}
