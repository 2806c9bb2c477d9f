// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// Every way a call fails, for the engine's tests.
contract Faults {
    uint256 public counter;

    /// Writes, then reverts with a reason: the write must not survive.
    function failWithReason() external {
        counter += 1;
        revert("not allowed");
    }

    /// An arithmetic overflow: Panic(0x11).
    function overflow() external returns (uint256) {
        counter = type(uint256).max;
        return counter + 1;
    }

    /// Division by zero: Panic(0x12).
    function divide(uint256 a, uint256 b) external pure returns (uint256) {
        return a / b;
    }

    /// Loops until the gas runs out.
    function spin() external {
        while (true) {
            counter += 1;
        }
    }

    /// An invalid opcode.
    function invalid() external pure {
        assembly {
            invalid()
        }
    }

    /// Succeeds, and counts.
    function bump() external returns (uint256) {
        counter += 1;
        return counter;
    }
}

/// An interface: no bytecode to deploy.
interface IBump {
    function bump() external returns (uint256);
}
