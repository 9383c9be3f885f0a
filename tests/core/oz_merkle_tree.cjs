#!/usr/bin/env node
// Builds StandardMerkleTrees with the npm library @openzeppelin/merkle-tree, for tests/core/test_merkle.py.
// stdin: {"trees": [{"encoding": [...types], "values": [[...], ...]}, ...]}
// stdout: {"trees": [{"root": "0x..", "proofs": [[..], ..] (in value order), "dump": {...standard-v1...}}, ...]}
"use strict";

const fs = require("fs");
const path = require("path");
const { createRequire } = require("module");

const projectRequire = createRequire(path.join(__dirname, "..", "..", "package.json"));
const { StandardMerkleTree } = projectRequire("@openzeppelin/merkle-tree");

const request = JSON.parse(fs.readFileSync(0, "utf8"));
const trees = request.trees.map(({ encoding, values }) => {
  const tree = StandardMerkleTree.of(values, encoding);
  const proofs = values.map((_, i) => tree.getProof(i));
  for (const [i, v] of tree.entries()) {
    if (!tree.verify(v, proofs[i])) throw new Error(`library refused its own proof ${i}`);
  }
  return { root: tree.root, proofs, dump: tree.dump() };
});
process.stdout.write(JSON.stringify({ trees }));
