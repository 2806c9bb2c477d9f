// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import "kexin/Kexin.sol";

/// What Kexin's reference applications (contracts/scf, contracts/trace) share: who the caller
/// acts for, and numbers and digests as text for refusal reasons.
library Apps {
    /// The organisation the caller acts for: its certificate (the identity precompile) must be
    /// known, unrevoked and valid at the block's time, and of role `role` (or `admin` or
    /// `writer` when `role` is empty).
    function caller(string memory role) internal view returns (string memory) {
        Kexin.Identity memory id = Kexin.identity(msg.sender);
        require(id.known, "the caller has no certificate on this chain");
        require(!id.revoked, string.concat("the caller's certificate (", id.name, " of ", id.org, ") is revoked"));
        uint256 nowMs = block.timestamp * 1000;
        require(
            nowMs >= id.notBeforeMs && nowMs <= id.notAfterMs,
            string.concat("the caller's certificate (", id.name, " of ", id.org, ") is not valid now")
        );
        bytes32 r = keccak256(bytes(id.role));
        if (bytes(role).length > 0) {
            require(
                r == keccak256(bytes(role)),
                string.concat("this needs an ", role, " of the organisation; ", id.name, " of ", id.org, " is a ", id.role)
            );
        } else {
            require(
                r == keccak256("admin") || r == keccak256("writer"),
                string.concat("this needs an admin or writer of the organisation; ", id.name, " of ", id.org, " is a ", id.role)
            );
        }
        return id.org;
    }

    /// `v` in decimal.
    function u(uint256 v) internal pure returns (string memory) {
        if (v == 0) return "0";
        uint256 digits;
        for (uint256 t = v; t != 0; t /= 10) digits++;
        bytes memory b = new bytes(digits);
        for (; v != 0; v /= 10) b[--digits] = bytes1(uint8(48 + v % 10));
        return string(b);
    }

    /// `v` as `0x` and 64 lowercase hex digits.
    function hex32(bytes32 v) internal pure returns (string memory) {
        bytes memory b = new bytes(66);
        b[0] = "0";
        b[1] = "x";
        bytes16 digits = "0123456789abcdef";
        for (uint256 i = 0; i < 32; i++) {
            b[2 + 2 * i] = digits[uint8(v[i]) >> 4];
            b[3 + 2 * i] = digits[uint8(v[i]) & 15];
        }
        return string(b);
    }
}
