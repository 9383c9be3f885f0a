// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IERC1271} from "@openzeppelin/contracts/interfaces/IERC1271.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";

/// @title A minimal contract wallet (tests only): one owner key, ERC-1271 signatures, arbitrary calls
/// @notice Accepts a signature when the owner's key signed the digest, until `setAccepting(false)` (a wallet that
/// rotated or revoked its key). `execute` lets the owner send calls as the wallet (direct registration).
contract TestERC1271Wallet is IERC1271 {
    address public immutable owner;
    bool public accepting = true;

    error TestERC1271WalletNotOwner(address caller);

    constructor(address owner_) {
        owner = owner_;
    }

    function setAccepting(bool value) external {
        if (msg.sender != owner) revert TestERC1271WalletNotOwner(msg.sender);
        accepting = value;
    }

    function isValidSignature(bytes32 hash, bytes calldata signature) external view returns (bytes4) {
        (address recovered, ECDSA.RecoverError err,) = ECDSA.tryRecoverCalldata(hash, signature);
        if (accepting && err == ECDSA.RecoverError.NoError && recovered == owner) {
            return IERC1271.isValidSignature.selector;
        }
        return 0xffffffff;
    }

    function execute(address target, bytes calldata data) external returns (bytes memory) {
        if (msg.sender != owner) revert TestERC1271WalletNotOwner(msg.sender);
        (bool ok, bytes memory result) = target.call(data);
        if (!ok) {
            assembly ("memory-safe") {
                revert(add(result, 0x20), mload(result))
            }
        }
        return result;
    }
}
