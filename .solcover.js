module.exports = {
  skipFiles: ["mocks/", "examples/"],
  configureYulOptimizer: true,
  mocha: { timeout: 600000 },
};
