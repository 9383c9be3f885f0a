// Find a batched image on chain by its file hash and check its Merkle inclusion, with ethers.js (v6) alone.
//
//   node scripts/auditor/find_batched_ethers.mjs RPC_URL CONTRACT ABI.json PHOTO [TREE.json]
//
// Uses nothing from this project (docs/auditing.md quotes it; tests run it): the ABI (a JSON list, or an artifact
// with an "abi" key), an RPC URL and the contract address; @openzeppelin/merkle-tree for the tree dump, if given.
// Prints one JSON object: every batch whose BatchAnchored event lists the file's SHA-256, its retraction state,
// and with the tree dump the leaf's inclusion under the anchored root, checked here and by verifyInclusion.
import { readFileSync } from "node:fs";
import { ethers } from "ethers";
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";

const [rpcUrl, address, abiFile, photo, treeFile] = process.argv.slice(2);
const abiJson = JSON.parse(readFileSync(abiFile, "utf8"));
const provider = new ethers.JsonRpcProvider(rpcUrl);
const registry = new ethers.Contract(address, Array.isArray(abiJson) ? abiJson : abiJson.abi, provider);
const content = ethers.sha256(readFileSync(photo));
const tree = treeFile ? StandardMerkleTree.load(JSON.parse(readFileSync(treeFile, "utf8"))) : null;

const found = [];
// The content hashes are event data, not topics: fetch the batch anchors and look inside (chunk long ranges).
for (const ev of await registry.queryFilter(registry.filters.BatchAnchored(), 0)) {
  const listed = ev.args.contentHashes.map((h) => h.toLowerCase());
  const position = listed.indexOf(content);
  if (position < 0) continue;
  const { root, publisher } = ev.args;
  const uid = ethers.keccak256(ethers.AbiCoder.defaultAbiCoder().encode(["address", "bytes32"], [publisher, content]));
  const [, revokedAt] = await registry.getRevocation(uid);
  let inclusion = null;
  if (tree !== null) {
    const value = tree.at(position); // the dump's values are in the order the anchor lists them
    inclusion = tree.root === root && value[0].toLowerCase() === content
      && StandardMerkleTree.verify(root, ["bytes32", "bytes32", "bytes32", "bytes32", "bytes32", "address"], value, tree.getProof(position))
      && await registry.verifyInclusion(root, value.slice(0, 5), value[5], tree.getProof(position));
  }
  found.push({ publisher, root, position, uri: ev.args.uri, anchoredAt: Number(ev.args.anchoredAt), uid,
               tx: ev.transactionHash, retracted: revokedAt !== 0n, inclusion });
}
console.log(JSON.stringify({ sha256: content, found }));
