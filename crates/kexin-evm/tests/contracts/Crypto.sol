// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import "kexin/Kexin.sol";

/// Calls every Kexin precompile through the Kexin library.
contract Crypto {
    function sm3(bytes calldata data) external view returns (bytes32) {
        return Kexin.sm3(data);
    }

    function sm2(bytes calldata key, bytes calldata userId, bytes calldata message, bytes calldata signature)
        external
        view
        returns (bool)
    {
        return Kexin.sm2Verify(key, userId, message, signature);
    }

    function ed25519(bytes32 key, bytes calldata message, bytes calldata signature) external view returns (bool) {
        return Kexin.ed25519Verify(key, message, signature);
    }

    function p256(bytes calldata key, bytes calldata message, bytes calldata signature) external view returns (bool) {
        return Kexin.p256Verify(key, message, signature);
    }

    /// keccak256 stays Ethereum's.
    function keccak(bytes calldata data) external pure returns (bytes32) {
        return keccak256(data);
    }
}
