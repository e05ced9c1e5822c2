import { expect } from "chai";
import { ethers, network } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";

import type { ChainlinkOracleAdapter, MockV3Aggregator, PauseGuardian } from "../../typechain-types";
import { underCoverage } from "../helpers/coverage";

/** Storage reads of `update()` for an asset without volatility configuration (legacy code generator). */
const SLOADS_WITHOUT_VOLATILITY = 4;
import {
  ewmaVolatilityPath,
  relativeError,
  varianceSample,
  YEAR_SECONDS,
  type Observation,
} from "../helpers/volatility";

/** Mirrors `IChainlinkOracleAdapter.Status`. */
const Status = { Ok: 0n, Stale: 1n, Invalid: 2n, Deviation: 3n, SequencerDown: 4n, GracePeriod: 5n } as const;
/** Mirrors `IChainlinkOracleAdapter.VolatilitySource`. */
const VolatilitySource = { None: 0n, Ewma: 1n, Feed: 2n } as const;

const ETH = ethers.encodeBytes32String("ETH");
const BTC = ethers.encodeBytes32String("BTC");
const UNKNOWN = ethers.encodeBytes32String("DOGE");
const DEFAULT_ADMIN_ROLE = ethers.ZeroHash;
const GUARDIAN_ROLE = ethers.id("GUARDIAN_ROLE");
const RISK_ADMIN_ROLE = ethers.id("RISK_ADMIN_ROLE");

const HEARTBEAT = 3600;
const MIN_PRICE = ethers.parseEther("100");
const MAX_PRICE = ethers.parseEther("100000");
const MAX_DEVIATION = ethers.parseEther("0.1"); // 10%
const GRACE_PERIOD = 3600;
const UINT128_MAX = 2n ** 128n - 1n;
const FEED_GAS_LIMIT = 250_000n;
const DAY = 24 * 3600;
const MAX_HEARTBEAT = 2 * DAY;
const MAX_INITIAL_VOLATILITY = ethers.parseEther("10"); // 1000%/year
const MAX_EWMA_WINDOW = 30 * DAY;

/** A Chainlink USD answer (8 decimals) from a decimal string. */
const usd8 = (value: string) => ethers.parseUnits(value, 8);
/** The same price in WAD. */
const wad = (value: string) => ethers.parseEther(value);

/** An adapter wired to `guardian` and, when given, a sequencer uptime feed (L2). */
async function deployAdapter(
  guardian: PauseGuardian,
  sequencer: string = ethers.ZeroAddress,
  gracePeriod: number = 0,
): Promise<ChainlinkOracleAdapter> {
  return ethers.deployContract("ChainlinkOracleAdapter", [await guardian.getAddress(), sequencer, gracePeriod]);
}

describe("ChainlinkOracleAdapter", function () {
  async function deployFixture() {
    const [admin, guardianSigner, riskAdmin, stranger] = await ethers.getSigners();
    const guardian: PauseGuardian = await ethers.deployContract("PauseGuardian", [
      admin.address,
      guardianSigner.address,
      riskAdmin.address,
    ]);
    const adapter = await deployAdapter(guardian);
    const ethFeed: MockV3Aggregator = await ethers.deployContract("MockV3Aggregator", [8, usd8("2000")]);
    await adapter.setFeed(ETH, await ethFeed.getAddress(), HEARTBEAT, MIN_PRICE, MAX_PRICE, MAX_DEVIATION);
    return { adapter, guardian, ethFeed, admin, guardianSigner, riskAdmin, stranger };
  }

  /** ETH as above, with its first round recorded as last good price by `update`. */
  async function recordedFixture() {
    const base = await deployFixture();
    await base.adapter.update(ETH);
    return base;
  }

  /** As `recordedFixture`, on an adapter wired to an L2 sequencer uptime feed that has been up for two hours. */
  async function sequencerFixture() {
    const base = await deployFixture();
    const sequencer: MockV3Aggregator = await ethers.deployContract("MockV3Aggregator", [0, 0]);
    const upSince = (await time.latest()) - 2 * 3600;
    await sequencer.updateRoundData(1, 0, upSince, upSince);
    const adapter = await deployAdapter(base.guardian, await sequencer.getAddress(), GRACE_PERIOD);
    await adapter.setFeed(ETH, await base.ethFeed.getAddress(), HEARTBEAT, MIN_PRICE, MAX_PRICE, MAX_DEVIATION);
    await adapter.update(ETH);
    return { ...base, adapter, sequencer };
  }

  /** Configures `asset` with a freshly deployed adversarial feed (`RevertingFeed`, ...). */
  async function withFeed(adapter: ChainlinkOracleAdapter, asset: string, contractName: string) {
    const feed = await ethers.deployContract(contractName);
    await adapter.setFeed(asset, await feed.getAddress(), HEARTBEAT, MIN_PRICE, MAX_PRICE, MAX_DEVIATION);
    return feed;
  }

  async function expectPrice(
    adapter: ChainlinkOracleAdapter,
    asset: string,
    priceWad: bigint,
    status: bigint,
  ) {
    const [actualPrice, actualStatus] = await adapter.price(asset);
    expect(actualStatus, "status").to.equal(status);
    expect(actualPrice, "priceWad").to.equal(priceWad);
  }

  describe("deployment", function () {
    it("stores the guardian and exposes the hard bounds", async function () {
      const { adapter, guardian } = await loadFixture(deployFixture);
      expect(await adapter.guardian()).to.equal(await guardian.getAddress());
      expect(await adapter.MIN_HEARTBEAT()).to.equal(60n);
      expect(await adapter.MAX_HEARTBEAT()).to.equal(2n * 24n * 3600n);
      expect(await adapter.MIN_DEVIATION()).to.equal(wad("0.005"));
      expect(await adapter.MAX_DEVIATION()).to.equal(wad("1"));
      expect(await adapter.MAX_GRACE_PERIOD()).to.equal(24n * 3600n);
      expect(await adapter.FEED_GAS_LIMIT()).to.equal(FEED_GAS_LIMIT);
    });

    it("rejects a zero guardian", async function () {
      const { adapter } = await loadFixture(deployFixture);
      await expect(
        ethers.deployContract("ChainlinkOracleAdapter", [ethers.ZeroAddress, ethers.ZeroAddress, 0]),
      ).to.be.revertedWithCustomError(adapter, "ChainlinkOracleAdapterZeroAddress");
    });

    it("starts without sequencer feed and without last good price", async function () {
      const { adapter } = await loadFixture(deployFixture);
      expect(await adapter.sequencerFeed()).to.deep.equal([ethers.ZeroAddress, 0n]);
      expect(await adapter.lastGoodPrice(ETH)).to.deep.equal([0n, 0n, 0n]);
    });
  });

  describe("configuration", function () {
    describe("setFeed", function () {
      it("stores the feed with its decimals and emits FeedConfigured", async function () {
        const { adapter } = await loadFixture(deployFixture);
        const feed = await ethers.deployContract("MockV3Aggregator", [18, wad("60000")]);
        const feedAddress = await feed.getAddress();
        await expect(adapter.setFeed(BTC, feedAddress, 7200, wad("1000"), wad("1000000"), wad("0.2")))
          .to.emit(adapter, "FeedConfigured")
          .withArgs(BTC, feedAddress, 18, 7200, wad("1000"), wad("1000000"), wad("0.2"));
        const config = await adapter.feedConfig(BTC);
        expect(config.feed).to.equal(feedAddress);
        expect(config.decimals).to.equal(18n);
        expect(config.heartbeat).to.equal(7200n);
        expect(config.maxDeviationWad).to.equal(wad("0.2"));
        expect(config.minPriceWad).to.equal(wad("1000"));
        expect(config.maxPriceWad).to.equal(wad("1000000"));
      });

      it("accepts the extreme hard bounds", async function () {
        const { adapter, ethFeed } = await loadFixture(deployFixture);
        const feed = await ethFeed.getAddress();
        await expect(adapter.setFeed(BTC, feed, 60, 1n, UINT128_MAX, wad("0.005"))).to.emit(
          adapter,
          "FeedConfigured",
        );
        await expect(adapter.setFeed(BTC, feed, 2 * 86400, 1n, 2n, wad("1"))).to.emit(
          adapter,
          "FeedConfigured",
        );
      });

      it("is admin only", async function () {
        const { adapter, ethFeed, riskAdmin, guardianSigner } = await loadFixture(deployFixture);
        const feed = await ethFeed.getAddress();
        for (const signer of [riskAdmin, guardianSigner]) {
          await expect(
            adapter.connect(signer).setFeed(BTC, feed, HEARTBEAT, MIN_PRICE, MAX_PRICE, MAX_DEVIATION),
          )
            .to.be.revertedWithCustomError(adapter, "ChainlinkOracleAdapterUnauthorized")
            .withArgs(signer.address, DEFAULT_ADMIN_ROLE);
        }
      });

      it("rejects a zero feed", async function () {
        const { adapter } = await loadFixture(deployFixture);
        await expect(
          adapter.setFeed(BTC, ethers.ZeroAddress, HEARTBEAT, MIN_PRICE, MAX_PRICE, MAX_DEVIATION),
        ).to.be.revertedWithCustomError(adapter, "ChainlinkOracleAdapterZeroAddress");
      });

      it("rejects a heartbeat outside [MIN_HEARTBEAT, MAX_HEARTBEAT]", async function () {
        const { adapter, ethFeed } = await loadFixture(deployFixture);
        const feed = await ethFeed.getAddress();
        for (const heartbeat of [0, 59, 2 * 86400 + 1]) {
          await expect(adapter.setFeed(BTC, feed, heartbeat, MIN_PRICE, MAX_PRICE, MAX_DEVIATION))
            .to.be.revertedWithCustomError(adapter, "ChainlinkOracleAdapterInvalidHeartbeat")
            .withArgs(heartbeat);
        }
      });

      it("rejects zero, inverted, equal or oversized price bounds", async function () {
        const { adapter, ethFeed } = await loadFixture(deployFixture);
        const feed = await ethFeed.getAddress();
        const cases: [bigint, bigint][] = [
          [0n, MAX_PRICE],
          [MAX_PRICE, MIN_PRICE],
          [MIN_PRICE, MIN_PRICE],
          [MIN_PRICE, UINT128_MAX + 1n],
        ];
        for (const [min, max] of cases) {
          await expect(adapter.setFeed(BTC, feed, HEARTBEAT, min, max, MAX_DEVIATION))
            .to.be.revertedWithCustomError(adapter, "ChainlinkOracleAdapterInvalidBounds")
            .withArgs(min, max);
        }
      });

      it("rejects a deviation bound outside [MIN_DEVIATION, MAX_DEVIATION]", async function () {
        const { adapter, ethFeed } = await loadFixture(deployFixture);
        const feed = await ethFeed.getAddress();
        for (const deviation of [0n, wad("0.005") - 1n, wad("1") + 1n]) {
          await expect(adapter.setFeed(BTC, feed, HEARTBEAT, MIN_PRICE, MAX_PRICE, deviation))
            .to.be.revertedWithCustomError(adapter, "ChainlinkOracleAdapterInvalidDeviation")
            .withArgs(deviation);
        }
      });

      it("rejects a feed with more than 18 decimals", async function () {
        const { adapter } = await loadFixture(deployFixture);
        const feed = await ethers.deployContract("MockV3Aggregator", [19, 1n]);
        const feedAddress = await feed.getAddress();
        await expect(adapter.setFeed(BTC, feedAddress, HEARTBEAT, MIN_PRICE, MAX_PRICE, MAX_DEVIATION))
          .to.be.revertedWithCustomError(adapter, "ChainlinkOracleAdapterUnsupportedFeed")
          .withArgs(feedAddress);
      });

      it("rejects a feed whose decimals() cannot be read", async function () {
        const { adapter, guardian, stranger } = await loadFixture(deployFixture);
        // An account without code, and a contract without `decimals()`.
        for (const feed of [stranger.address, await guardian.getAddress()]) {
          await expect(adapter.setFeed(BTC, feed, HEARTBEAT, MIN_PRICE, MAX_PRICE, MAX_DEVIATION))
            .to.be.revertedWithCustomError(adapter, "ChainlinkOracleAdapterUnsupportedFeed")
            .withArgs(feed);
        }
      });

      it("replacing the feed keeps the last good price but forgets the old feed's round id", async function () {
        const { adapter } = await loadFixture(recordedFixture);
        const [priceBefore, updatedAtBefore, roundBefore] = await adapter.lastGoodPrice(ETH);
        expect(roundBefore).to.equal(1n);

        const newFeed = await ethers.deployContract("MockV3Aggregator", [8, usd8("2010")]);
        await adapter.setFeed(
          ETH,
          await newFeed.getAddress(),
          HEARTBEAT,
          MIN_PRICE,
          MAX_PRICE,
          MAX_DEVIATION,
        );
        expect(await adapter.lastGoodPrice(ETH)).to.deep.equal([priceBefore, updatedAtBefore, 0n]);

        // Round 1 of the new feed is new to the adapter, so it is recorded.
        await expect(adapter.update(ETH)).to.emit(adapter, "PriceUpdated");
        expect((await adapter.lastGoodPrice(ETH))[0]).to.equal(wad("2010"));
      });

      it("re-setting the same feed keeps the recorded round", async function () {
        const { adapter, ethFeed } = await loadFixture(recordedFixture);
        await adapter.setFeed(
          ETH,
          await ethFeed.getAddress(),
          HEARTBEAT,
          MIN_PRICE,
          MAX_PRICE,
          MAX_DEVIATION,
        );
        expect((await adapter.lastGoodPrice(ETH))[2]).to.equal(1n);
      });
    });

    describe("setRiskParams", function () {
      it("lets the risk admin and the admin move the parameters, keeping feed and decimals", async function () {
        const { adapter, ethFeed, riskAdmin, admin } = await loadFixture(deployFixture);
        const feed = await ethFeed.getAddress();
        for (const signer of [riskAdmin, admin]) {
          await expect(adapter.connect(signer).setRiskParams(ETH, 120, wad("500"), wad("5000"), wad("0.05")))
            .to.emit(adapter, "FeedConfigured")
            .withArgs(ETH, feed, 8, 120, wad("500"), wad("5000"), wad("0.05"));
        }
        const config = await adapter.feedConfig(ETH);
        expect([config.feed, config.decimals, config.heartbeat]).to.deep.equal([feed, 8n, 120n]);
        expect([config.minPriceWad, config.maxPriceWad, config.maxDeviationWad]).to.deep.equal([
          wad("500"),
          wad("5000"),
          wad("0.05"),
        ]);
      });

      it("rejects callers without the risk admin or admin role", async function () {
        const { adapter, guardianSigner, stranger } = await loadFixture(deployFixture);
        for (const signer of [guardianSigner, stranger]) {
          await expect(
            adapter.connect(signer).setRiskParams(ETH, HEARTBEAT, MIN_PRICE, MAX_PRICE, MAX_DEVIATION),
          )
            .to.be.revertedWithCustomError(adapter, "ChainlinkOracleAdapterUnauthorized")
            .withArgs(signer.address, RISK_ADMIN_ROLE);
        }
      });

      it("rejects an unknown asset", async function () {
        const { adapter, riskAdmin } = await loadFixture(deployFixture);
        await expect(
          adapter.connect(riskAdmin).setRiskParams(UNKNOWN, HEARTBEAT, MIN_PRICE, MAX_PRICE, MAX_DEVIATION),
        )
          .to.be.revertedWithCustomError(adapter, "ChainlinkOracleAdapterUnknownAsset")
          .withArgs(UNKNOWN);
      });

      it("enforces the same hard bounds as setFeed", async function () {
        const { adapter, riskAdmin } = await loadFixture(deployFixture);
        const risk = adapter.connect(riskAdmin);
        await expect(risk.setRiskParams(ETH, 59, MIN_PRICE, MAX_PRICE, MAX_DEVIATION))
          .to.be.revertedWithCustomError(adapter, "ChainlinkOracleAdapterInvalidHeartbeat")
          .withArgs(59);
        await expect(risk.setRiskParams(ETH, HEARTBEAT, MAX_PRICE, MIN_PRICE, MAX_DEVIATION))
          .to.be.revertedWithCustomError(adapter, "ChainlinkOracleAdapterInvalidBounds")
          .withArgs(MAX_PRICE, MIN_PRICE);
        await expect(risk.setRiskParams(ETH, HEARTBEAT, MIN_PRICE, MAX_PRICE, wad("1.5")))
          .to.be.revertedWithCustomError(adapter, "ChainlinkOracleAdapterInvalidDeviation")
          .withArgs(wad("1.5"));
      });
    });

    describe("sequencer feed", function () {
      it("is wiring fixed at deployment, announced with SequencerFeedConfigured", async function () {
        const { guardian, ethFeed } = await loadFixture(deployFixture);
        const feed = await ethFeed.getAddress();
        const adapter = await deployAdapter(guardian, feed, 86400);
        await expect(adapter.deploymentTransaction())
          .to.emit(adapter, "SequencerFeedConfigured")
          .withArgs(feed, 86400);
        expect(await adapter.sequencerFeed()).to.deep.equal([feed, 86400n]);
        expect(adapter.interface.hasFunction("setSequencerFeed"), "no setter").to.equal(false);
      });

      it("rejects a grace period above MAX_GRACE_PERIOD", async function () {
        const { adapter, guardian, ethFeed } = await loadFixture(deployFixture);
        await expect(deployAdapter(guardian, await ethFeed.getAddress(), 86401))
          .to.be.revertedWithCustomError(adapter, "ChainlinkOracleAdapterInvalidGracePeriod")
          .withArgs(86401);
      });
    });

    it("uses the guardian's role identifiers", async function () {
      const { guardian } = await loadFixture(deployFixture);
      expect(await guardian.GUARDIAN_ROLE()).to.equal(GUARDIAN_ROLE);
      expect(await guardian.RISK_ADMIN_ROLE()).to.equal(RISK_ADMIN_ROLE);
    });
  });

  describe("statuses", function () {
    describe("fresh, stale and malformed rounds", function () {
      it("returns Ok for a fresh round", async function () {
        const { adapter } = await loadFixture(deployFixture);
        await expectPrice(adapter, ETH, wad("2000"), Status.Ok);
      });

      it("reports the times of the latest round and the one before it (priceAndTime, price)", async function () {
        const { adapter, ethFeed } = await loadFixture(deployFixture);
        const first = (await ethFeed.latestRoundData()).updatedAt;
        // The first round of the feed: no round before it.
        expect(await adapter.priceAndTime(ETH)).to.deep.equal([wad("2000"), Status.Ok, first, 0n]);
        await time.increase(30);
        await ethFeed.updateAnswer(usd8("2010"));
        const second = (await ethFeed.latestRoundData()).updatedAt;
        expect(second).to.be.gt(first);
        expect(await adapter.priceAndTime(ETH)).to.deep.equal([wad("2010"), Status.Ok, second, first]);
        expect((await adapter.price(ETH))[2]).to.equal(second);
        // Graded like `price`: a stale round keeps its times.
        await time.increase(HEARTBEAT + 1);
        expect(await adapter.priceAndTime(ETH)).to.deep.equal([wad("2010"), Status.Stale, second, first]);
        expect(await adapter.priceAndTime(UNKNOWN)).to.deep.equal([0n, Status.Invalid, 0n, 0n]);
        expect(await adapter.price(UNKNOWN)).to.deep.equal([0n, Status.Invalid, 0n]);
      });

      it("returns (0, Invalid) for an unknown asset", async function () {
        const { adapter } = await loadFixture(deployFixture);
        await expectPrice(adapter, UNKNOWN, 0n, Status.Invalid);
      });

      it("turns Stale once more than heartbeat seconds passed since updatedAt", async function () {
        const { adapter, ethFeed } = await loadFixture(deployFixture);
        const updatedAt = Number((await ethFeed.latestRoundData()).updatedAt);
        await time.increaseTo(updatedAt + HEARTBEAT);
        await expectPrice(adapter, ETH, wad("2000"), Status.Ok);
        await time.increaseTo(updatedAt + HEARTBEAT + 1);
        await expectPrice(adapter, ETH, wad("2000"), Status.Stale);
        // A new round makes it fresh again.
        await ethFeed.updateAnswer(usd8("2001"));
        await expectPrice(adapter, ETH, wad("2001"), Status.Ok);
      });

      it("returns Invalid with the last good price for zero and negative answers", async function () {
        const { adapter, ethFeed } = await loadFixture(recordedFixture);
        for (const answer of [0n, -1n, -usd8("2000")]) {
          await ethFeed.updateAnswer(answer);
          await expectPrice(adapter, ETH, wad("2000"), Status.Invalid);
        }
      });

      it("returns Invalid with the answer for prices outside the bounds (inclusive bounds)", async function () {
        const { adapter, ethFeed, riskAdmin } = await loadFixture(deployFixture);
        // Full deviation allowance so that only the bounds decide.
        await adapter.connect(riskAdmin).setRiskParams(ETH, HEARTBEAT, wad("1000"), wad("3000"), wad("1"));
        // A round after an out-of-bounds round is measured against the last good price (none here).
        const cases: [string, bigint][] = [
          ["3000", Status.Ok],
          ["3000.00000001", Status.Invalid],
          ["1000", Status.Ok],
          ["999.99999999", Status.Invalid],
        ];
        for (const [answer, status] of cases) {
          await ethFeed.updateAnswer(usd8(answer));
          await expectPrice(adapter, ETH, wad(answer), status);
        }
      });

      it("returns Invalid for a round updated in the future", async function () {
        const { adapter, ethFeed } = await loadFixture(deployFixture);
        const now = await time.latest();
        await ethFeed.updateRoundData(2, usd8("2001"), now + 1000, now);
        await expectPrice(adapter, ETH, wad("2001"), Status.Invalid);
      });

      it("returns Invalid for an incomplete round (updatedAt 0)", async function () {
        const { adapter, ethFeed } = await loadFixture(deployFixture);
        await ethFeed.updateRoundData(2, usd8("2001"), 0, 0);
        await expectPrice(adapter, ETH, wad("2001"), Status.Invalid);
      });

      it("checks Invalid before Stale", async function () {
        const { adapter, ethFeed } = await loadFixture(deployFixture);
        await ethFeed.updateAnswer(usd8("50")); // below MIN_PRICE
        await time.increase(HEARTBEAT + 10);
        await expectPrice(adapter, ETH, wad("50"), Status.Invalid);
      });
    });

    describe("adversarial feeds", function () {
      it("returns Invalid (and does not revert) for a reverting feed", async function () {
        const { adapter } = await loadFixture(deployFixture);
        await withFeed(adapter, BTC, "RevertingFeed");
        await expectPrice(adapter, BTC, 0n, Status.Invalid);
      });

      it("returns Invalid for a feed that burns its whole gas allowance", async function () {
        const { adapter } = await loadFixture(deployFixture);
        await withFeed(adapter, BTC, "GasBurningFeed");
        await expectPrice(adapter, BTC, 0n, Status.Invalid);
        // The feed got exactly its allowance, no more: the whole call stays far below a block.
        const gas = await adapter.price.estimateGas(BTC);
        expect(gas).to.be.greaterThan(FEED_GAS_LIMIT);
        expect(gas).to.be.lessThan(FEED_GAS_LIMIT + 60_000n);
      });

      it("returns Invalid for a feed returning malformed (too short) data", async function () {
        const { adapter } = await loadFixture(deployFixture);
        await withFeed(adapter, BTC, "MalformedFeed");
        await expectPrice(adapter, BTC, 0n, Status.Invalid);
      });

      it("falls back to the last good price when a feed breaks after a good round", async function () {
        const { adapter } = await loadFixture(recordedFixture);
        for (const name of ["RevertingFeed", "GasBurningFeed", "MalformedFeed"]) {
          await withFeed(adapter, ETH, name);
          await expectPrice(adapter, ETH, wad("2000"), Status.Invalid);
        }
      });
    });

    describe("deviation", function () {
      it("flags a jump beyond the bound from the previous round (bound inclusive)", async function () {
        const { adapter, ethFeed } = await loadFixture(deployFixture);
        await ethFeed.updateAnswer(usd8("2200")); // +10% exactly
        await expectPrice(adapter, ETH, wad("2200"), Status.Ok);
        await ethFeed.updateAnswer(usd8("2420.00000001")); // just over +10% from 2200
        await expectPrice(adapter, ETH, wad("2420.00000001"), Status.Deviation);
      });

      it("flags a drop beyond the bound", async function () {
        const { adapter, ethFeed } = await loadFixture(deployFixture);
        await ethFeed.updateAnswer(usd8("1799.99999999")); // just over -10%
        await expectPrice(adapter, ETH, wad("1799.99999999"), Status.Deviation);
      });

      it("confirms a jump with a following round within the bound of it", async function () {
        const { adapter, ethFeed } = await loadFixture(recordedFixture);
        await ethFeed.updateAnswer(usd8("2500")); // +25%
        await expectPrice(adapter, ETH, wad("2500"), Status.Deviation);
        await ethFeed.updateAnswer(usd8("2550")); // +2% from 2500
        await expectPrice(adapter, ETH, wad("2550"), Status.Ok);
      });

      it("keeps flagging while the following round is still beyond the bound", async function () {
        const { adapter, ethFeed } = await loadFixture(recordedFixture);
        await ethFeed.updateAnswer(usd8("2500"));
        await ethFeed.updateAnswer(usd8("3000")); // +20% from 2500
        await expectPrice(adapter, ETH, wad("3000"), Status.Deviation);
      });

      it("uses the last good price when the previous round cannot be read", async function () {
        const { adapter, ethFeed } = await loadFixture(recordedFixture);
        const now = await time.latest();
        // Round 5 follows round 1: round 4 has no data.
        await ethFeed.updateRoundData(5, usd8("2500"), now, now);
        await expectPrice(adapter, ETH, wad("2500"), Status.Deviation);
        await ethFeed.updateRoundData(5, usd8("2100"), now, now); // +5% from the last good 2000
        await expectPrice(adapter, ETH, wad("2100"), Status.Ok);
      });

      it("uses the last good price when the previous round is outside the bounds", async function () {
        const { adapter, ethFeed } = await loadFixture(recordedFixture);
        await ethFeed.updateAnswer(usd8("50")); // Invalid round
        await expectPrice(adapter, ETH, wad("50"), Status.Invalid);
        await ethFeed.updateAnswer(usd8("2050")); // +2.5% from the last good 2000
        await expectPrice(adapter, ETH, wad("2050"), Status.Ok);
        await ethFeed.updateAnswer(usd8("50"));
        await ethFeed.updateAnswer(usd8("2500")); // +25% from the last good 2000
        await expectPrice(adapter, ETH, wad("2500"), Status.Deviation);
      });

      it("skips the check when there is no reference at all", async function () {
        const { adapter, ethFeed } = await loadFixture(deployFixture);
        const now = await time.latest();
        await ethFeed.updateRoundData(5, usd8("2500"), now, now);
        await expectPrice(adapter, ETH, wad("2500"), Status.Ok);
      });

      it("checks Stale before Deviation", async function () {
        const { adapter, ethFeed } = await loadFixture(deployFixture);
        await ethFeed.updateAnswer(usd8("2500"));
        await time.increase(HEARTBEAT + 1);
        await expectPrice(adapter, ETH, wad("2500"), Status.Stale);
      });
    });

    describe("sequencer", function () {
      it("returns Ok while the sequencer has been up for longer than the grace period", async function () {
        const { adapter } = await loadFixture(sequencerFixture);
        await expectPrice(adapter, ETH, wad("2000"), Status.Ok);
      });

      it("returns SequencerDown while the sequencer is down, before any other check", async function () {
        const { adapter, sequencer, ethFeed } = await loadFixture(sequencerFixture);
        await sequencer.updateAnswer(1);
        await expectPrice(adapter, ETH, wad("2000"), Status.SequencerDown);
        await ethFeed.updateAnswer(-1); // Invalid feed: the sequencer still comes first
        await expectPrice(adapter, ETH, wad("2000"), Status.SequencerDown);
      });

      it("returns GracePeriod after recovery until gracePeriod seconds passed", async function () {
        const { adapter, sequencer, ethFeed } = await loadFixture(sequencerFixture);
        await sequencer.updateAnswer(1);
        await sequencer.updateAnswer(0);
        const startedAt = Number((await sequencer.latestRoundData()).startedAt);
        await ethFeed.updateAnswer(usd8("2010"));
        await expectPrice(adapter, ETH, wad("2010"), Status.GracePeriod);
        await time.increaseTo(startedAt + GRACE_PERIOD - 2);
        await ethFeed.updateAnswer(usd8("2020")); // mined one second later; keeps the price fresh
        expect(await time.latest()).to.equal(startedAt + GRACE_PERIOD - 1);
        await expectPrice(adapter, ETH, wad("2020"), Status.GracePeriod);
        await time.increaseTo(startedAt + GRACE_PERIOD);
        await expectPrice(adapter, ETH, wad("2020"), Status.Ok);
      });

      it("returns SequencerDown when startedAt is 0", async function () {
        const { adapter, sequencer } = await loadFixture(sequencerFixture);
        const now = await time.latest();
        await sequencer.updateRoundData(2, 0, now, 0);
        await expectPrice(adapter, ETH, wad("2000"), Status.SequencerDown);
      });

      it("returns SequencerDown when the sequencer feed cannot be read", async function () {
        const { guardian, ethFeed } = await loadFixture(deployFixture);
        const broken = await ethers.deployContract("RevertingFeed");
        const adapter = await deployAdapter(guardian, await broken.getAddress(), GRACE_PERIOD);
        await adapter.setFeed(ETH, await ethFeed.getAddress(), HEARTBEAT, MIN_PRICE, MAX_PRICE, MAX_DEVIATION);
        await expectPrice(adapter, ETH, wad("2000"), Status.SequencerDown);
      });
    });

    describe("decimals", function () {
      it("scales an 8-decimals answer to WAD exactly", async function () {
        const { adapter } = await loadFixture(deployFixture);
        const feed = await ethers.deployContract("MockV3Aggregator", [8, 6_012_345_678_901n]);
        await adapter.setFeed(
          BTC,
          await feed.getAddress(),
          HEARTBEAT,
          wad("1000"),
          wad("1000000"),
          MAX_DEVIATION,
        );
        await expectPrice(adapter, BTC, 60_123_456_789_010_000_000_000n, Status.Ok);
      });

      it("keeps an 18-decimals answer unchanged", async function () {
        const { adapter } = await loadFixture(deployFixture);
        const answer = 60_123_456_789_012_345_678_901n;
        const feed = await ethers.deployContract("MockV3Aggregator", [18, answer]);
        await adapter.setFeed(
          BTC,
          await feed.getAddress(),
          HEARTBEAT,
          wad("1000"),
          wad("1000000"),
          MAX_DEVIATION,
        );
        await expectPrice(adapter, BTC, answer, Status.Ok);
      });
    });

    describe("gas", function () {
      it("reports the gas of price() for an Ok asset", async function () {
        const { adapter, ethFeed } = await loadFixture(recordedFixture);
        const recorded = await adapter.price.estimateGas(ETH);
        await ethFeed.updateAnswer(usd8("2010"));
        const [, status] = await adapter.price(ETH);
        expect(status).to.equal(Status.Ok);
        const unrecorded = await adapter.price.estimateGas(ETH);
        console.log(
          `      price() Ok, recorded round (no previous-round read): ${recorded} gas (tx estimate)`,
        );
        console.log(
          `      price() Ok, new round (previous-round read):         ${unrecorded} gas (tx estimate)`,
        );
        expect(unrecorded).to.be.greaterThan(recorded);
      });
    });
  });

  describe("update", function () {
    it("records an Ok round, emits PriceUpdated and returns the price", async function () {
      const { adapter, ethFeed, stranger } = await loadFixture(deployFixture);
      const { updatedAt } = await ethFeed.latestRoundData();
      expect(await adapter.connect(stranger).update.staticCall(ETH)).to.deep.equal([wad("2000"), Status.Ok]);
      await expect(adapter.connect(stranger).update(ETH))
        .to.emit(adapter, "PriceUpdated")
        .withArgs(ETH, 1, wad("2000"), updatedAt);
      expect(await adapter.lastGoodPrice(ETH)).to.deep.equal([wad("2000"), updatedAt, 1n]);
    });

    it("does not record the same round twice", async function () {
      const { adapter } = await loadFixture(recordedFixture);
      await expect(adapter.update(ETH)).not.to.emit(adapter, "PriceUpdated");
    });

    it("records each newer Ok round", async function () {
      const { adapter, ethFeed } = await loadFixture(recordedFixture);
      await ethFeed.updateAnswer(usd8("2010"));
      const { updatedAt } = await ethFeed.latestRoundData();
      const tx = adapter.update(ETH);
      await expect(tx).to.emit(adapter, "PriceUpdated").withArgs(ETH, 2, wad("2010"), updatedAt);
      const receipt = await (await tx).wait();
      console.log(`      update() Ok, new round recorded: ${receipt!.gasUsed} gas (tx)`);
      expect(await adapter.lastGoodPrice(ETH)).to.deep.equal([wad("2010"), updatedAt, 2n]);
    });

    it("records nothing when the status is not Ok, and returns that status", async function () {
      const { adapter, ethFeed } = await loadFixture(recordedFixture);
      const before = await adapter.lastGoodPrice(ETH);
      await ethFeed.updateAnswer(usd8("2500"));
      expect(await adapter.update.staticCall(ETH)).to.deep.equal([wad("2500"), Status.Deviation]);
      await expect(adapter.update(ETH)).not.to.emit(adapter, "PriceUpdated");
      await ethFeed.updateAnswer(-5n);
      expect(await adapter.update.staticCall(ETH)).to.deep.equal([wad("2000"), Status.Invalid]);
      await expect(adapter.update(ETH)).not.to.emit(adapter, "PriceUpdated");
      expect(await adapter.lastGoodPrice(ETH)).to.deep.equal(before);
    });

    it("records at exactly the heartbeat, not one second later", async function () {
      const { adapter, ethFeed } = await loadFixture(deployFixture);
      const updatedAt = Number((await ethFeed.latestRoundData()).updatedAt);
      await time.setNextBlockTimestamp(updatedAt + HEARTBEAT + 1);
      await expect(adapter.update(ETH)).not.to.emit(adapter, "PriceUpdated");

      const fresh = await loadFixture(deployFixture);
      await time.setNextBlockTimestamp(updatedAt + HEARTBEAT);
      await expect(fresh.adapter.update(ETH)).to.emit(fresh.adapter, "PriceUpdated");
    });

    it("reverts for an unknown asset", async function () {
      const { adapter } = await loadFixture(deployFixture);
      await expect(adapter.update(UNKNOWN))
        .to.be.revertedWithCustomError(adapter, "ChainlinkOracleAdapterUnknownAsset")
        .withArgs(UNKNOWN);
    });

    it("reverts when the caller starves the feed call, but not when the feed had its full allowance", async function () {
      const { adapter } = await loadFixture(deployFixture);
      await withFeed(adapter, BTC, "GasBurningFeed");
      await expect(adapter.update(BTC, { gasLimit: 200_000 })).to.be.revertedWithCustomError(
        adapter,
        "ChainlinkOracleAdapterInsufficientGas",
      );
      await expect(adapter.price.staticCall(BTC, { gasLimit: 200_000 })).to.be.revertedWithCustomError(
        adapter,
        "ChainlinkOracleAdapterInsufficientGas",
      );
      // With enough gas for the full allowance the same feed is simply Invalid.
      expect(await adapter.update.staticCall(BTC, { gasLimit: 400_000 })).to.deep.equal([0n, Status.Invalid]);
      await expect(adapter.update(BTC, { gasLimit: 400_000 })).not.to.emit(adapter, "PriceUpdated");
    });
  });

  describe("acceptPrice", function () {
    it("lets the guardian accept a deviating round: Ok, recorded, PriceAccepted", async function () {
      const { adapter, ethFeed, guardianSigner } = await loadFixture(recordedFixture);
      await ethFeed.updateAnswer(usd8("2500"));
      const { updatedAt } = await ethFeed.latestRoundData();
      await expect(adapter.connect(guardianSigner).acceptPrice(ETH))
        .to.emit(adapter, "PriceAccepted")
        .withArgs(ETH, 2, wad("2500"), guardianSigner.address);
      await expectPrice(adapter, ETH, wad("2500"), Status.Ok);
      expect(await adapter.lastGoodPrice(ETH)).to.deep.equal([wad("2500"), updatedAt, 2n]);
      // Already recorded: update has nothing to add.
      await expect(adapter.update(ETH)).not.to.emit(adapter, "PriceUpdated");
    });

    it("lets the admin accept too", async function () {
      const { adapter, ethFeed, admin } = await loadFixture(recordedFixture);
      await ethFeed.updateAnswer(usd8("1500"));
      await expect(adapter.connect(admin).acceptPrice(ETH))
        .to.emit(adapter, "PriceAccepted")
        .withArgs(ETH, 2, wad("1500"), admin.address);
    });

    it("measures later rounds against the accepted one", async function () {
      const { adapter, ethFeed, guardianSigner } = await loadFixture(recordedFixture);
      await ethFeed.updateAnswer(usd8("2500"));
      await adapter.connect(guardianSigner).acceptPrice(ETH);
      await ethFeed.updateAnswer(usd8("2600")); // +4% from 2500
      await expectPrice(adapter, ETH, wad("2600"), Status.Ok);
      await ethFeed.updateAnswer(usd8("2000")); // -23% from 2600
      await expectPrice(adapter, ETH, wad("2000"), Status.Deviation);
    });

    it("rejects callers without the guardian or admin role", async function () {
      const { adapter, ethFeed, riskAdmin, stranger } = await loadFixture(recordedFixture);
      await ethFeed.updateAnswer(usd8("2500"));
      for (const signer of [riskAdmin, stranger]) {
        await expect(adapter.connect(signer).acceptPrice(ETH))
          .to.be.revertedWithCustomError(adapter, "ChainlinkOracleAdapterUnauthorized")
          .withArgs(signer.address, GUARDIAN_ROLE);
      }
    });

    it("reverts when nothing is held back by the deviation check", async function () {
      const { adapter, ethFeed, guardianSigner } = await loadFixture(recordedFixture);
      const asGuardian = adapter.connect(guardianSigner);
      await expect(asGuardian.acceptPrice(ETH))
        .to.be.revertedWithCustomError(adapter, "ChainlinkOracleAdapterNothingToAccept")
        .withArgs(ETH, Status.Ok);
      await ethFeed.updateAnswer(usd8("2500"));
      await time.increase(HEARTBEAT + 1);
      await expect(asGuardian.acceptPrice(ETH))
        .to.be.revertedWithCustomError(adapter, "ChainlinkOracleAdapterNothingToAccept")
        .withArgs(ETH, Status.Stale);
      await ethFeed.updateAnswer(0n);
      await expect(asGuardian.acceptPrice(ETH))
        .to.be.revertedWithCustomError(adapter, "ChainlinkOracleAdapterNothingToAccept")
        .withArgs(ETH, Status.Invalid);
    });

    it("reverts for an unknown asset", async function () {
      const { adapter, guardianSigner } = await loadFixture(deployFixture);
      await expect(adapter.connect(guardianSigner).acceptPrice(UNKNOWN))
        .to.be.revertedWithCustomError(adapter, "ChainlinkOracleAdapterUnknownAsset")
        .withArgs(UNKNOWN);
    });
  });

  describe("volatility", function () {
    type VolatilityConfig = {
      initialVolatilityWad: bigint;
      ewmaWindow: number;
      volatilityFeed: string;
      volatilityFeedHeartbeat: number;
    };

    /** 80%/year, one-day window, no volatility feed, with `overrides`. */
    const volConfig = (overrides: Partial<VolatilityConfig> = {}): VolatilityConfig => ({
      initialVolatilityWad: wad("0.8"),
      ewmaWindow: DAY,
      volatilityFeed: ethers.ZeroAddress,
      volatilityFeedHeartbeat: 0,
      ...overrides,
    });
    /** The config as the tuple events, errors and `volatilityConfig` return. */
    const asTuple = (config: VolatilityConfig) => [
      config.initialVolatilityWad,
      BigInt(config.ewmaWindow),
      config.volatilityFeed,
      BigInt(config.volatilityFeedHeartbeat),
    ];
    /** A WAD value as a double. */
    const toNumber = (valueWad: bigint) => Number(valueWad) / 1e18;

    /** ETH recorded at 2,000 with the default volatility configuration (set by the risk admin). */
    async function volatilityFixture() {
      const base = await recordedFixture();
      await base.adapter.connect(base.riskAdmin).setVolatilityConfig(ETH, volConfig());
      return base;
    }

    /** As above, with a fresh realised-volatility feed (8 decimals, 65.5%) and a one-hour heartbeat. */
    async function volatilityFeedFixture() {
      const base = await recordedFixture();
      const volFeed: MockV3Aggregator = await ethers.deployContract("MockV3Aggregator", [8, 6_550_000_000n]);
      const config = volConfig({
        volatilityFeed: await volFeed.getAddress(),
        volatilityFeedHeartbeat: HEARTBEAT,
      });
      await base.adapter.setVolatilityConfig(ETH, config);
      return { ...base, volFeed, config };
    }

    async function expectVolatility(
      adapter: ChainlinkOracleAdapter,
      asset: string,
      volatilityWad: bigint,
      source: bigint,
    ) {
      const [actualVolatility, actualSource] = await adapter.volatility(asset);
      expect(actualSource, "source").to.equal(source);
      expect(actualVolatility, "volatilityWad").to.equal(volatilityWad);
    }

    /** The recorded last good price of ETH as a reference observation. */
    async function lastObservation(adapter: ChainlinkOracleAdapter): Promise<Observation> {
      const [priceWad, updatedAt] = await adapter.lastGoodPrice(ETH);
      return { price: toNumber(priceWad), updatedAt: Number(updatedAt) };
    }

    /** Publishes `price` (decimal string) in a new ETH round updated at exactly `updatedAt`. */
    async function publishAt(feed: MockV3Aggregator, price: string, updatedAt: number): Promise<Observation> {
      await time.setNextBlockTimestamp(updatedAt);
      await feed.updateAnswer(usd8(price));
      return { price: Number(price), updatedAt };
    }

    /** SLOAD and SSTORE executed by a transaction's top-level frame. */
    async function storageOps(txHash: string) {
      const trace = (await network.provider.send("debug_traceTransaction", [
        txHash,
        { disableStack: true, disableMemory: true, disableStorage: true },
      ])) as { structLogs: { op: string; depth: number }[] };
      const top = trace.structLogs.filter((log) => log.depth === 1);
      return {
        sload: top.filter((log) => log.op === "SLOAD").length,
        sstore: top.filter((log) => log.op === "SSTORE").length,
      };
    }

    describe("configuration", function () {
      it("lets the risk admin and the admin configure, emits VolatilityConfigured, stores the config", async function () {
        const { adapter, riskAdmin, admin } = await loadFixture(recordedFixture);
        const volFeed = await ethers.deployContract("MockV3Aggregator", [8, 6_550_000_000n]);
        const configs = [
          volConfig(),
          volConfig({
            initialVolatilityWad: wad("0.65"),
            ewmaWindow: 7 * DAY,
            volatilityFeed: await volFeed.getAddress(),
            volatilityFeedHeartbeat: 2 * HEARTBEAT,
          }),
        ];
        for (const [signer, config] of [
          [riskAdmin, configs[0]],
          [admin, configs[1]],
        ] as const) {
          await expect(adapter.connect(signer).setVolatilityConfig(ETH, config))
            .to.emit(adapter, "VolatilityConfigured")
            .withArgs(ETH, asTuple(config));
          expect(await adapter.volatilityConfig(ETH)).to.deep.equal(asTuple(config));
        }
      });

      it("accepts the extreme hard bounds", async function () {
        const { adapter, ethFeed } = await loadFixture(recordedFixture);
        const feed = await ethFeed.getAddress();
        expect(await adapter.MAX_INITIAL_VOLATILITY()).to.equal(MAX_INITIAL_VOLATILITY);
        expect(await adapter.MIN_EWMA_WINDOW()).to.equal(60n);
        expect(await adapter.MAX_EWMA_WINDOW()).to.equal(BigInt(MAX_EWMA_WINDOW));
        expect(await adapter.YEAR()).to.equal(BigInt(YEAR_SECONDS));
        const cases = [
          volConfig({
            initialVolatilityWad: 1n,
            ewmaWindow: 60,
            volatilityFeed: feed,
            volatilityFeedHeartbeat: 60,
          }),
          volConfig({
            initialVolatilityWad: MAX_INITIAL_VOLATILITY,
            ewmaWindow: MAX_EWMA_WINDOW,
            volatilityFeed: feed,
            volatilityFeedHeartbeat: MAX_HEARTBEAT,
          }),
        ];
        for (const config of cases) {
          await expect(adapter.setVolatilityConfig(ETH, config))
            .to.emit(adapter, "VolatilityConfigured")
            .withArgs(ETH, asTuple(config));
          expect(await adapter.volatilityConfig(ETH)).to.deep.equal(asTuple(config));
          // Without the feed, the initial volatility comes back exactly, also at the extremes.
          await adapter.setVolatilityConfig(ETH, { ...config, volatilityFeed: ethers.ZeroAddress });
          await expectVolatility(adapter, ETH, config.initialVolatilityWad, VolatilitySource.Ewma);
        }
      });

      it("rejects callers without the risk admin or admin role", async function () {
        const { adapter, guardianSigner, stranger } = await loadFixture(recordedFixture);
        for (const signer of [guardianSigner, stranger]) {
          await expect(adapter.connect(signer).setVolatilityConfig(ETH, volConfig()))
            .to.be.revertedWithCustomError(adapter, "ChainlinkOracleAdapterUnauthorized")
            .withArgs(signer.address, RISK_ADMIN_ROLE);
        }
      });

      it("rejects an asset without feed", async function () {
        const { adapter, riskAdmin } = await loadFixture(recordedFixture);
        await expect(adapter.connect(riskAdmin).setVolatilityConfig(UNKNOWN, volConfig()))
          .to.be.revertedWithCustomError(adapter, "ChainlinkOracleAdapterUnknownAsset")
          .withArgs(UNKNOWN);
      });

      it("rejects a configuration outside the hard bounds", async function () {
        const { adapter, riskAdmin, ethFeed } = await loadFixture(recordedFixture);
        const feed = await ethFeed.getAddress();
        const cases = [
          volConfig({ initialVolatilityWad: 0n }),
          volConfig({ initialVolatilityWad: MAX_INITIAL_VOLATILITY + 1n }),
          volConfig({ ewmaWindow: 0 }),
          volConfig({ ewmaWindow: 59 }),
          volConfig({ ewmaWindow: MAX_EWMA_WINDOW + 1 }),
          volConfig({ volatilityFeed: feed, volatilityFeedHeartbeat: 0 }),
          volConfig({ volatilityFeed: feed, volatilityFeedHeartbeat: 59 }),
          volConfig({ volatilityFeed: feed, volatilityFeedHeartbeat: MAX_HEARTBEAT + 1 }),
        ];
        for (const config of cases) {
          await expect(adapter.connect(riskAdmin).setVolatilityConfig(ETH, config))
            .to.be.revertedWithCustomError(adapter, "ChainlinkOracleAdapterInvalidVolatilityConfig")
            .withArgs(asTuple(config));
        }
      });

      it("rejects a volatility feed with more than 18 decimals or unreadable decimals", async function () {
        const { adapter, guardian, stranger } = await loadFixture(recordedFixture);
        const tooPrecise = await ethers.deployContract("MockV3Aggregator", [19, 1n]);
        for (const feed of [await tooPrecise.getAddress(), stranger.address, await guardian.getAddress()]) {
          await expect(
            adapter.setVolatilityConfig(
              ETH,
              volConfig({ volatilityFeed: feed, volatilityFeedHeartbeat: HEARTBEAT }),
            ),
          )
            .to.be.revertedWithCustomError(adapter, "ChainlinkOracleAdapterUnsupportedFeed")
            .withArgs(feed);
        }
      });

      it("reconfiguring resets the EWMA to the new initial volatility", async function () {
        const { adapter, ethFeed, riskAdmin } = await loadFixture(volatilityFixture);
        const start = await lastObservation(adapter);
        await publishAt(ethFeed, "2100", start.updatedAt + 600);
        await adapter.update(ETH);
        const [moved] = await adapter.volatility(ETH);
        expect(moved).to.not.equal(wad("0.8"));

        const config = volConfig({ initialVolatilityWad: wad("0.5"), ewmaWindow: 2 * HEARTBEAT });
        await expect(adapter.connect(riskAdmin).setVolatilityConfig(ETH, config))
          .to.emit(adapter, "VolatilityConfigured")
          .withArgs(ETH, asTuple(config));
        await expectVolatility(adapter, ETH, wad("0.5"), VolatilitySource.Ewma);

        // The next sample starts from the last good price recorded before the reset.
        const previous = await lastObservation(adapter);
        const next = await publishAt(ethFeed, "2050", previous.updatedAt + 900);
        await adapter.update(ETH);
        const [expected] = ewmaVolatilityPath(0.5, config.ewmaWindow, [previous, next]);
        const [volatilityWad] = await adapter.volatility(ETH);
        expect(relativeError(toNumber(volatilityWad), expected)).to.be.lessThan(1e-9);
      });
    });

    describe("EWMA", function () {
      it("without a configuration: (0, None), and update folds nothing and touches no extra storage", async function () {
        const { adapter, ethFeed } = await loadFixture(recordedFixture);
        await expectVolatility(adapter, ETH, 0n, VolatilitySource.None);
        await expectVolatility(adapter, UNKNOWN, 0n, VolatilitySource.None);
        expect(await adapter.volatilityConfig(ETH)).to.deep.equal([0n, 0n, ethers.ZeroAddress, 0n]);

        await ethFeed.updateAnswer(usd8("2010"));
        const tx = await adapter.update(ETH);
        await expect(tx).to.emit(adapter, "PriceUpdated");
        await expect(tx).not.to.emit(adapter, "VolatilityUpdated");
        await expectVolatility(adapter, ETH, 0n, VolatilitySource.None);
        // The same storage accesses as before volatility existed: feed parameters, last good price and
        // bounds read (no sequencer feed is set, so its slot is not), 1 SSTORE (the last good price).
        if (!underCoverage())
          expect(await storageOps(tx.hash)).to.deep.equal({ sload: SLOADS_WITHOUT_VOLATILITY, sstore: 1 });
      });

      it("reports the initial volatility, exactly, until the first return", async function () {
        const { adapter, ethFeed, riskAdmin } = await loadFixture(deployFixture); // no last good price yet
        const initial = 123_456_789_123_456_789n;
        await adapter
          .connect(riskAdmin)
          .setVolatilityConfig(ETH, volConfig({ initialVolatilityWad: initial }));
        await expectVolatility(adapter, ETH, initial, VolatilitySource.Ewma);

        // The first recorded price has no predecessor: no sample.
        const tx = adapter.update(ETH);
        await expect(tx).to.emit(adapter, "PriceUpdated");
        await expect(tx).not.to.emit(adapter, "VolatilityUpdated");
        await expectVolatility(adapter, ETH, initial, VolatilitySource.Ewma);

        // Nothing new to record: no sample either.
        await expect(adapter.update(ETH)).not.to.emit(adapter, "VolatilityUpdated");

        // The second one is the first sample.
        const { updatedAt } = await ethFeed.latestRoundData();
        await publishAt(ethFeed, "2010", Number(updatedAt) + 300);
        await expect(adapter.update(ETH)).to.emit(adapter, "VolatilityUpdated");
      });

      it("matches a double-precision reference of the recurrence over real feed rounds", async function () {
        let maxError = 0;
        // A one-day window (weights up to 3%) and a ten-minute one (weights from 0.3% to 99%).
        for (const window of [DAY, 600]) {
          const { adapter, ethFeed, riskAdmin } = await loadFixture(recordedFixture);
          await adapter.connect(riskAdmin).setVolatilityConfig(ETH, volConfig({ ewmaWindow: window }));
          const observations = [await lastObservation(adapter)];
          // Deterministic pseudo-random path: moves within ±3%, gaps of 2 s to 50 min.
          let seed = 20240601;
          const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
          let price = observations[0].price;
          let updatedAt = observations[0].updatedAt;
          for (let i = 0; i < 30; i++) {
            price *= 1 + (random() - 0.5) * 0.06;
            updatedAt += 2 + Math.floor(random() * 3000);
            observations.push(await publishAt(ethFeed, price.toFixed(8), updatedAt));
            const tx = await adapter.update(ETH);

            const expected = ewmaVolatilityPath(0.8, window, observations).at(-1)!;
            const [volatilityWad, source] = await adapter.volatility(ETH);
            expect(source).to.equal(VolatilitySource.Ewma);
            await expect(tx).to.emit(adapter, "VolatilityUpdated").withArgs(ETH, volatilityWad);
            const error = relativeError(toNumber(volatilityWad), expected);
            expect(error, `window ${window}, round ${i}`).to.be.lessThan(1e-6);
            maxError = Math.max(maxError, error);
          }
        }
        console.log(
          `      EWMA vs double-precision reference, 2 x 30 rounds: max relative error ${maxError.toExponential(2)}`,
        );
      });

      it("normalises by time: the same log return over a longer gap is a proportionally smaller sample", async function () {
        // With the shortest window (60 s), gaps above 41.5 windows give weight exactly 1: σ² is the sample.
        const variances: number[] = [];
        for (const dt of [2500, 3500]) {
          const { adapter, ethFeed, riskAdmin } = await loadFixture(recordedFixture);
          await adapter.connect(riskAdmin).setVolatilityConfig(ETH, volConfig({ ewmaWindow: 60 }));
          const start = await lastObservation(adapter);
          await publishAt(ethFeed, "2100", start.updatedAt + dt);
          await adapter.update(ETH);
          const [volatilityWad] = await adapter.volatility(ETH);
          const variance = toNumber(volatilityWad) ** 2;
          expect(relativeError(variance, varianceSample(2000, 2100, dt))).to.be.lessThan(1e-9);
          variances.push(variance);
        }
        expect(variances[1]).to.be.lessThan(variances[0]);
        expect(relativeError(variances[1] * 3500, variances[0] * 2500)).to.be.lessThan(1e-9);
      });

      it("converges to the volatility of a constant-volatility path", async function () {
        const { adapter, ethFeed, riskAdmin } = await loadFixture(recordedFixture);
        const target = 0.8;
        const dt = 600;
        await adapter
          .connect(riskAdmin)
          .setVolatilityConfig(ETH, volConfig({ initialVolatilityWad: wad("0.2"), ewmaWindow: HEARTBEAT }));
        // Alternating log returns of ±σ·√(dt / year): every sample is σ².
        const step = target * Math.sqrt(dt / YEAR_SECONDS);
        let { price, updatedAt } = await lastObservation(adapter);
        let previousGap = Infinity;
        for (let i = 0; i < 40; i++) {
          price *= Math.exp(i % 2 === 0 ? step : -step);
          updatedAt += dt;
          await publishAt(ethFeed, price.toFixed(8), updatedAt);
          await adapter.update(ETH);
          const [volatilityWad] = await adapter.volatility(ETH);
          const gap = Math.abs(toNumber(volatilityWad) - target);
          expect(gap, `round ${i}`).to.be.lessThan(previousGap);
          previousGap = gap;
        }
        // 40 gaps of a sixth of the window leave (e^(-1/6))^40 ≈ 0.13% of the initial variance gap.
        expect(previousGap / target).to.be.lessThan(1e-3);
      });

      it("skips a new round with the timestamp of the recorded one, but records its price", async function () {
        const { adapter, ethFeed } = await loadFixture(volatilityFixture);
        const start = await lastObservation(adapter);
        await ethFeed.updateRoundData(2, usd8("2010"), start.updatedAt, start.updatedAt);
        const tx = adapter.update(ETH);
        await expect(tx).to.emit(adapter, "PriceUpdated").withArgs(ETH, 2, wad("2010"), start.updatedAt);
        await expect(tx).not.to.emit(adapter, "VolatilityUpdated");
        await expectVolatility(adapter, ETH, wad("0.8"), VolatilitySource.Ewma);

        // The next return is measured from the price recorded without a sample.
        const next = await publishAt(ethFeed, "2030", start.updatedAt + 600);
        await adapter.update(ETH);
        const [expected] = ewmaVolatilityPath(0.8, DAY, [{ price: 2010, updatedAt: start.updatedAt }, next]);
        const [volatilityWad] = await adapter.volatility(ETH);
        expect(relativeError(toNumber(volatilityWad), expected)).to.be.lessThan(1e-9);
      });

      it("folds a jump accepted by the guardian", async function () {
        const { adapter, ethFeed, guardianSigner } = await loadFixture(volatilityFixture);
        const start = await lastObservation(adapter);
        const jump = await publishAt(ethFeed, "2500", start.updatedAt + 600); // +25%: Deviation
        await expect(adapter.update(ETH)).not.to.emit(adapter, "VolatilityUpdated");

        const tx = await adapter.connect(guardianSigner).acceptPrice(ETH);
        await expect(tx).to.emit(adapter, "PriceAccepted");
        const [volatilityWad] = await adapter.volatility(ETH);
        await expect(tx).to.emit(adapter, "VolatilityUpdated").withArgs(ETH, volatilityWad);
        const [expected] = ewmaVolatilityPath(0.8, DAY, [start, jump]);
        expect(relativeError(toNumber(volatilityWad), expected)).to.be.lessThan(1e-9);
      });

      it("keeps the configuration and the EWMA when the price feed is replaced", async function () {
        const { adapter } = await loadFixture(volatilityFixture);
        const start = await lastObservation(adapter);
        const newFeed: MockV3Aggregator = await ethers.deployContract("MockV3Aggregator", [8, usd8("2000")]);
        await adapter.setFeed(
          ETH,
          await newFeed.getAddress(),
          HEARTBEAT,
          MIN_PRICE,
          MAX_PRICE,
          MAX_DEVIATION,
        );
        const next = await publishAt(newFeed, "1980", start.updatedAt + 1200);
        await expect(adapter.update(ETH)).to.emit(adapter, "VolatilityUpdated");
        const [expected] = ewmaVolatilityPath(0.8, DAY, [start, next]);
        const [volatilityWad] = await adapter.volatility(ETH);
        expect(relativeError(toNumber(volatilityWad), expected)).to.be.lessThan(1e-9);
      });

      it("reports the gas of update() with and without volatility", async function () {
        const measure = async (fixture: typeof recordedFixture) => {
          const { adapter, ethFeed } = await loadFixture(fixture);
          await ethFeed.updateAnswer(usd8("2010"));
          const tx = await adapter.update(ETH);
          const receipt = await tx.wait();
          return { gas: receipt!.gasUsed, ops: await storageOps(tx.hash) };
        };
        const without = await measure(recordedFixture);
        const withVolatility = await measure(volatilityFixture);
        console.log(`      update() new round, no volatility config: ${without.gas} gas (tx)`);
        console.log(`      update() new round, EWMA sample:          ${withVolatility.gas} gas (tx)`);
        // The EWMA adds exactly one slot write (its own slot) and stays well under 12k gas.
        if (underCoverage()) return; // instrumentation adds storage writes and gas
        expect(withVolatility.ops.sstore).to.equal(without.ops.sstore + 1);
        expect(withVolatility.gas - without.gas).to.be.lessThan(12_000n);
      });
    });

    describe("volatility feed", function () {
      it("uses a fresh feed, exactly, for 8, 18 and 0 decimals", async function () {
        const { adapter, riskAdmin } = await loadFixture(recordedFixture);
        const cases: [number, bigint, bigint][] = [
          [8, 6_550_000_000n, wad("0.655")],
          [18, wad("65.5"), wad("0.655")],
          [18, 1n, 1n], // 1e-18 percent rounds up to 1e-18 WAD
          [0, 80n, wad("0.8")],
        ];
        for (const [decimals, answer, expected] of cases) {
          const volFeed = await ethers.deployContract("MockV3Aggregator", [decimals, answer]);
          await adapter
            .connect(riskAdmin)
            .setVolatilityConfig(
              ETH,
              volConfig({ volatilityFeed: await volFeed.getAddress(), volatilityFeedHeartbeat: HEARTBEAT }),
            );
          await expectVolatility(adapter, ETH, expected, VolatilitySource.Feed);
        }
      });

      it("uses the feed up to exactly its heartbeat, then the EWMA", async function () {
        const { adapter, volFeed } = await loadFixture(volatilityFeedFixture);
        const { updatedAt } = await volFeed.latestRoundData();
        await time.increaseTo(Number(updatedAt) + HEARTBEAT);
        await expectVolatility(adapter, ETH, wad("0.655"), VolatilitySource.Feed);
        await time.increaseTo(Number(updatedAt) + HEARTBEAT + 1);
        await expectVolatility(adapter, ETH, wad("0.8"), VolatilitySource.Ewma);
        await volFeed.updateAnswer(7_000_000_000n);
        await expectVolatility(adapter, ETH, wad("0.7"), VolatilitySource.Feed);
      });

      it("falls back to the EWMA for a zero or negative answer", async function () {
        const { adapter, volFeed } = await loadFixture(volatilityFeedFixture);
        for (const answer of [0n, -1n, -6_550_000_000n]) {
          await volFeed.updateAnswer(answer);
          await expectVolatility(adapter, ETH, wad("0.8"), VolatilitySource.Ewma);
        }
      });

      it("falls back to the EWMA for an incomplete round, a round in the future or an oversized answer", async function () {
        const { adapter, volFeed } = await loadFixture(volatilityFeedFixture);
        const now = await time.latest();
        const rounds: [bigint, number][] = [
          [6_550_000_000n, 0],
          [6_550_000_000n, now + 1000],
          [2n ** 128n, now],
        ];
        for (const [answer, updatedAt] of rounds) {
          await volFeed.updateRoundData(2, answer, updatedAt, updatedAt);
          await expectVolatility(adapter, ETH, wad("0.8"), VolatilitySource.Ewma);
        }
      });

      it("falls back to the EWMA, without reverting, for a reverting, gas-burning or malformed feed", async function () {
        const { adapter, riskAdmin } = await loadFixture(volatilityFixture);
        for (const name of ["RevertingFeed", "GasBurningFeed", "MalformedFeed"]) {
          const volFeed = await ethers.deployContract(name);
          await adapter
            .connect(riskAdmin)
            .setVolatilityConfig(
              ETH,
              volConfig({ volatilityFeed: await volFeed.getAddress(), volatilityFeedHeartbeat: HEARTBEAT }),
            );
          await expectVolatility(adapter, ETH, wad("0.8"), VolatilitySource.Ewma);
        }
      });

      it("reverts only when the caller starves the volatility feed call", async function () {
        const { adapter, riskAdmin } = await loadFixture(volatilityFixture);
        const volFeed = await ethers.deployContract("GasBurningFeed");
        await adapter
          .connect(riskAdmin)
          .setVolatilityConfig(
            ETH,
            volConfig({ volatilityFeed: await volFeed.getAddress(), volatilityFeedHeartbeat: HEARTBEAT }),
          );
        await expect(adapter.volatility.staticCall(ETH, { gasLimit: 200_000 })).to.be.revertedWithCustomError(
          adapter,
          "ChainlinkOracleAdapterInsufficientGas",
        );
        expect(await adapter.volatility.staticCall(ETH, { gasLimit: 400_000 })).to.deep.equal([
          wad("0.8"),
          VolatilitySource.Ewma,
        ]);
      });

      it("keeps the EWMA running underneath the feed", async function () {
        const { adapter, ethFeed, volFeed } = await loadFixture(volatilityFeedFixture);
        const start = await lastObservation(adapter);
        const next = await publishAt(ethFeed, "2040", start.updatedAt + 900);
        await expect(adapter.update(ETH)).to.emit(adapter, "VolatilityUpdated");
        await expectVolatility(adapter, ETH, wad("0.655"), VolatilitySource.Feed);

        await time.increase(HEARTBEAT); // the volatility feed goes stale, the EWMA takes over
        const [expected] = ewmaVolatilityPath(0.8, DAY, [start, next]);
        const [volatilityWad, source] = await adapter.volatility(ETH);
        expect(source).to.equal(VolatilitySource.Ewma);
        expect(relativeError(toNumber(volatilityWad), expected)).to.be.lessThan(1e-9);
        expect((await volFeed.latestRoundData()).answer).to.equal(6_550_000_000n);
      });
    });
  });
});
