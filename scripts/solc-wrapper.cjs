#!/usr/bin/env node
// A stand-in for a native `solc` binary built on solc-js (npm `solc`, WebAssembly), so that py-solc-x's
// `compile_standard(..., solc_binary=<this file>)` works offline (no native compiler can be downloaded here).
//
// Supported:
//   solc-wrapper.cjs --version
//       prints the native-style banner "solc, the solidity compiler commandline interface\nVersion: <v>.Linux.g++";
//       <v> (e.g. 0.8.37+commit.f401782d) comes from solc-js itself.
//   solc-wrapper.cjs --standard-json [--base-path DIR] [--include-path DIR]... [--allow-paths A,B]
//       reads the standard-JSON input on stdin and writes the standard-JSON output, and nothing else, on stdout
//       (unlike `solcjs --standard-json`, which prints an SMT notice line first). Imports are resolved against
//       the base path, then each include path, like native solc; files outside those folders and the allowed
//       paths are refused. Compile errors are reported inside the JSON with exit code 0, as native solc does.
//
// `solc` is resolved from the project's node_modules (next to this script's folder), so any cwd works.
"use strict";

const fs = require("fs");
const path = require("path");
const { createRequire } = require("module");

const projectRequire = createRequire(path.join(__dirname, "..", "package.json"));

function fail(message) {
  process.stderr.write(message + "\n");
  process.exit(1);
}

function parseArgs(argv) {
  const opts = { version: false, standardJson: false, basePath: null, includePaths: [], allowPaths: [] };
  const takesValue = new Set(["--base-path", "--include-path", "--allow-paths"]);
  for (let i = 0; i < argv.length; i++) {
    let arg = argv[i];
    let value = null;
    const eq = arg.indexOf("=");
    if (arg.startsWith("--") && eq > 0) {
      value = arg.slice(eq + 1);
      arg = arg.slice(0, eq);
    }
    if (takesValue.has(arg) && value === null) {
      if (i + 1 >= argv.length) fail(`Error: option '${arg}' needs a value`);
      value = argv[++i];
    }
    switch (arg) {
      case "--version":
        opts.version = true;
        break;
      case "--standard-json":
        opts.standardJson = true;
        break;
      case "--base-path":
        opts.basePath = value;
        break;
      case "--include-path":
        opts.includePaths.push(value);
        break;
      case "--allow-paths":
        opts.allowPaths.push(...value.split(",").filter((p) => p.length > 0));
        break;
      case "-":
        break; // stdin marker; standard JSON always reads stdin
      default:
        fail(`unrecognised option '${arg}'`);
    }
  }
  return opts;
}

function isInside(file, dir) {
  const rel = path.relative(dir, file);
  return rel === "" || (!rel.startsWith("..") && !path.isAbsolute(rel));
}

function makeImportCallback(opts) {
  const searchDirs = [opts.basePath || process.cwd(), ...opts.includePaths].map((d) => path.resolve(d));
  const allowedDirs = [...searchDirs, ...opts.allowPaths.map((d) => path.resolve(d))];
  return function findImport(sourceUnitName) {
    const candidates = path.isAbsolute(sourceUnitName)
      ? [path.resolve(sourceUnitName)]
      : searchDirs.map((dir) => path.resolve(dir, sourceUnitName));
    for (const file of candidates) {
      if (!allowedDirs.some((dir) => isInside(file, dir))) continue;
      try {
        return { contents: fs.readFileSync(file, "utf8") };
      } catch (err) {
        if (err.code !== "ENOENT" && err.code !== "EISDIR") return { error: `${file}: ${err.message}` };
      }
    }
    return { error: `File not found in base path or include paths: ${sourceUnitName}` };
  };
}

function readStdin() {
  return fs.readFileSync(0, "utf8");
}

function main() {
  const opts = parseArgs(process.argv.slice(2));
  let solc;
  try {
    solc = projectRequire("solc");
  } catch (err) {
    fail(`cannot load solc-js from ${path.join(__dirname, "..", "node_modules")}: ${err.message}`);
  }
  if (opts.version) {
    // solc-js reports e.g. "0.8.37+commit.f401782d.Emscripten.clang"; keep the version and commit.
    const match = /^(\d+\.\d+\.\d+(?:-[\w.]+)?\+commit\.[0-9a-f]+)/.exec(solc.version());
    if (!match) fail(`unexpected solc-js version string: ${solc.version()}`);
    process.stdout.write(`solc, the solidity compiler commandline interface\nVersion: ${match[1]}.Linux.g++\n`);
    return;
  }
  if (!opts.standardJson) fail("only --version and --standard-json are supported by this wrapper");
  const output = solc.compile(readStdin(), { import: makeImportCallback(opts) });
  process.stdout.write(output);
}

main();
