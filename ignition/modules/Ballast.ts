import { buildModule } from "@nomicfoundation/ignition-core";
import { deployCore } from "./core";

/**
 * The whole protocol on an existing settlement token and existing Chainlink feeds, every address and
 * parameter taken from the network's parameters file (`ignition/parameters/<network>.json`).
 */
export default buildModule("Ballast", (m) => {
  return deployCore(m, m.getParameter("token"), m.getParameter("ethFeed"), m.getParameter("btcFeed"));
});
