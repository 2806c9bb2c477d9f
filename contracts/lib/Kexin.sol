// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// Kexin's precompiles (docs/design.md, "Contracts"; crates/kexin-evm/src/precompiles.rs):
/// SM3; SM2 (with a user id), Ed25519 and P-256 signature checks; the certificate behind a
/// signer address; and evidence digests. A check returns whether the signature verifies; a
/// malformed input (a key of the wrong length or off its curve, a signature that is not 64
/// bytes) reverts with the precompile's reason.
library Kexin {
    address internal constant SM3 = address(0x4b01);
    address internal constant SM2_VERIFY = address(0x4b02);
    address internal constant ED25519_VERIFY = address(0x4b03);
    address internal constant P256_VERIFY = address(0x4b04);
    address internal constant IDENTITY = address(0x4b05);
    address internal constant EVIDENCE = address(0x4b06);

    /// The certificate a signer address's key last acted under on the chain.
    struct Identity {
        bool known; // false: the chain has no certificate for the address (every other field empty)
        bytes32 certId;
        string org; // the organisation (O=)
        string name; // the holder (CN=)
        string role; // "admin", "writer", "reader", "auditor", ...
        bool revoked;
        uint64 notBeforeMs; // validity, ms since the Unix epoch (block.timestamp is in seconds)
        uint64 notAfterMs;
    }

    /// What the chain holds of an evidence digest.
    struct Evidence {
        bool recorded;
        uint64 count; // records carrying the digest
        uint64 firstHeight;
        string firstOrg; // who recorded it first ("" before protocol 5 or on an open chain)
        uint64 lastHeight;
    }

    /// The SM3 digest of `data`.
    function sm3(bytes memory data) internal view returns (bytes32) {
        (bool ok, bytes memory out) = SM3.staticcall(data);
        if (!ok || out.length != 32) _bubble(out);
        return abi.decode(out, (bytes32));
    }

    /// Whether `signature` (r || s) is `publicKey`'s SM2 signature of `message` under `userId`
    /// ("1234567812345678" is the default user id, the one Kexin's own keys sign with).
    function sm2Verify(bytes memory publicKey, bytes memory userId, bytes memory message, bytes memory signature)
        internal
        view
        returns (bool)
    {
        return _check(SM2_VERIFY, abi.encode(publicKey, userId, message, signature));
    }

    /// Whether `signature` is `publicKey`'s Ed25519 signature of `message` (strict checks).
    function ed25519Verify(bytes32 publicKey, bytes memory message, bytes memory signature)
        internal
        view
        returns (bool)
    {
        return _check(ED25519_VERIFY, abi.encode(publicKey, message, signature));
    }

    /// Whether `signature` (r || s, low s) is the uncompressed P-256 `publicKey`'s ECDSA
    /// signature of SHA-256(`message`).
    function p256Verify(bytes memory publicKey, bytes memory message, bytes memory signature)
        internal
        view
        returns (bool)
    {
        return _check(P256_VERIFY, abi.encode(publicKey, message, signature));
    }

    /// The identity behind `who` (for `msg.sender`: the transaction's signer).
    function identity(address who) internal view returns (Identity memory id) {
        (bool ok, bytes memory out) = IDENTITY.staticcall(abi.encode(who));
        if (!ok) _bubble(out);
        id = abi.decode(out, (Identity));
    }

    /// Whether `who` acts now under an unrevoked certificate, valid at this block, of
    /// organisation `org` with role `role` (an empty `role` accepts any).
    function actsAs(address who, string memory org, string memory role) internal view returns (bool) {
        Identity memory id = identity(who);
        uint256 nowMs = block.timestamp * 1000;
        return id.known && !id.revoked && nowMs >= id.notBeforeMs && nowMs <= id.notAfterMs
            && keccak256(bytes(id.org)) == keccak256(bytes(org))
            && (bytes(role).length == 0 || keccak256(bytes(id.role)) == keccak256(bytes(role)));
    }

    /// What the chain holds of evidence digest `digest`.
    function evidence(bytes32 digest) internal view returns (Evidence memory e) {
        (bool ok, bytes memory out) = EVIDENCE.staticcall(abi.encode(digest));
        if (!ok) _bubble(out);
        e = abi.decode(out, (Evidence));
    }

    function _check(address precompile, bytes memory input) private view returns (bool) {
        (bool ok, bytes memory out) = precompile.staticcall(input);
        if (!ok || out.length != 32) _bubble(out);
        return abi.decode(out, (bool));
    }

    /// Reverts with `out`, the precompile's revert data.
    function _bubble(bytes memory out) private pure {
        assembly {
            revert(add(out, 32), mload(out))
        }
    }
}
