// SPDX-License-Identifier: MIT
// Verbatim from OpenZeppelin Contracts v5.7.0 (utils/cryptography/SignatureChecker.sol): the one function the
// registry uses, `isValidERC1271SignatureNowCalldata`, without the rest of that file.
//
// Why: the shanghai build of the registry (for Ganache 7, whose newest hardfork is shanghai) cannot compile OpenZeppelin
// 5.7's SignatureChecker, which uses the cancun opcode MCOPY in functions the registry never calls (and imports
// `Bytes`, which uses it too). solc checks every function's assembly for the target, used or not. Only the shanghai
// build maps `@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol` here (ledger/adapters/chain/compile.py);
// the cancun build uses OpenZeppelin's file unchanged.

pragma solidity ^0.8.24;

import {IERC1271} from "@openzeppelin/contracts/interfaces/IERC1271.sol";

library SignatureChecker {
    function isValidERC1271SignatureNowCalldata(
        address signer,
        bytes32 hash,
        bytes calldata signature
    ) internal view returns (bool result) {
        bytes4 selector = IERC1271.isValidSignature.selector;
        uint256 length = signature.length;

        assembly ("memory-safe") {
            // Encoded calldata following https://docs.soliditylang.org/en/v0.8.35/abi-spec.html:
            // [ 0x00 - 0x03 ] <selector>
            // [ 0x04 - 0x23 ] <hash>
            // [ 0x24 - 0x43 ] <signature offset> (0x40)
            // [ 0x44 - 0x63 ] <signature length>
            // [ 0x64 - ...  ] <signature data> | <zero padding>
            let ptr := mload(0x40)
            mstore(ptr, selector)
            mstore(add(ptr, 0x04), hash)
            mstore(add(ptr, 0x24), 0x40)
            mstore(add(ptr, 0x44), length)
            calldatacopy(add(ptr, 0x64), signature.offset, length)
            mstore(add(add(ptr, 0x64), length), 0)

            // round up the length to the next multiple of 32 bytes to ensure that the calldata is properly padded
            length := shl(5, shr(5, add(length, 0x1F)))

            let success := staticcall(gas(), signer, ptr, add(length, 0x64), 0x00, 0x20)
            result := and(success, and(gt(returndatasize(), 0x1f), eq(mload(0x00), selector)))
        }
    }
}
