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

    function identityOf(address who) external view returns (Kexin.Identity memory) {
        return Kexin.identity(who);
    }

    function evidenceOf(bytes32 digest) external view returns (Kexin.Evidence memory) {
        return Kexin.evidence(digest);
    }

    /// Whether the caller acts as `role` of `org` now.
    function callerActsAs(string calldata org, string calldata role) external view returns (bool) {
        return Kexin.actsAs(msg.sender, org, role);
    }

    /// Only a writer of org1 may pass (a role check as an application would write it).
    function onlyOrg1Writer() external view returns (string memory) {
        require(Kexin.actsAs(msg.sender, "org1", "writer"), "only org1's writers");
        return Kexin.identity(msg.sender).name;
    }

    /// keccak256 stays Ethereum's.
    function keccak(bytes calldata data) external pure returns (bytes32) {
        return keccak256(data);
    }
}
