// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// Two versions of one contract with the same storage layout (an upgrade by governance keeps
/// the storage), and a relay that calls into it from another contract.
interface ICounter {
    function inc() external;
}

contract CounterV1 {
    uint256 public value;

    event Incremented(address indexed by, uint256 value);

    function inc() external {
        value += 1;
        emit Incremented(msg.sender, value);
    }

    function version() external pure returns (uint256) {
        return 1;
    }
}

contract CounterV2 {
    uint256 public value;

    function inc() external {
        value += 10;
    }

    function version() external pure returns (uint256) {
        return 2;
    }
}

contract Relay {
    function incVia(address counter) external {
        ICounter(counter).inc();
    }
}
