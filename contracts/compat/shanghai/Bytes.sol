// SPDX-License-Identifier: MIT
// Verbatim from OpenZeppelin Contracts v5.7.0 (utils/Bytes.sol): `equal`, the one function of that file the
// registry reaches (through `Strings`, which EIP712's `MessageHashUtils` imports), without the rest.
//
// Why: see SignatureChecker.sol beside this file. OpenZeppelin 5.7's Bytes uses the cancun opcode MCOPY, which a
// shanghai build refuses even in functions never called; only the shanghai build maps `utils/Bytes.sol` here.

pragma solidity ^0.8.24;

library Bytes {
    function equal(bytes memory a, bytes memory b) internal pure returns (bool) {
        return a.length == b.length && keccak256(a) == keccak256(b);
    }
}
