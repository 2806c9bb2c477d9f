// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// The token of `kexin bench --workload erc20`: an ERC-20 (balances, transfers, allowances,
/// the Transfer and Approval events) whose supply only its deployer may mint.
///
/// The compiled creation code is embedded in the `kexin` binary (`BenchToken.json`, solc
/// 0.8.37 standard-JSON output, evmVersion prague, optimizer 200 runs); the test
/// `bench_token_artifact_matches_its_source` (kexin-cli `tests/bench_smoke.rs`) recompiles
/// this file and checks that the embedded code is the same.
contract BenchToken {
    string public constant name = "Kexin Bench Token";
    string public constant symbol = "KBT";
    uint8 public constant decimals = 0;

    address public immutable minter;
    uint256 public totalSupply;
    mapping(address => uint256) public balanceOf;
    mapping(address => mapping(address => uint256)) public allowance;

    event Transfer(address indexed from, address indexed to, uint256 value);
    event Approval(address indexed owner, address indexed spender, uint256 value);

    error NotMinter(address caller);
    error InsufficientBalance(address from, uint256 balance, uint256 needed);
    error InsufficientAllowance(address spender, uint256 allowance, uint256 needed);

    constructor() {
        minter = msg.sender;
    }

    /// Creates `value` tokens for `to`: the deployer only.
    function mint(address to, uint256 value) external {
        if (msg.sender != minter) revert NotMinter(msg.sender);
        totalSupply += value;
        balanceOf[to] += value;
        emit Transfer(address(0), to, value);
    }

    function transfer(address to, uint256 value) external returns (bool) {
        _move(msg.sender, to, value);
        return true;
    }

    function approve(address spender, uint256 value) external returns (bool) {
        allowance[msg.sender][spender] = value;
        emit Approval(msg.sender, spender, value);
        return true;
    }

    function transferFrom(address from, address to, uint256 value) external returns (bool) {
        uint256 allowed = allowance[from][msg.sender];
        if (allowed != type(uint256).max) {
            if (allowed < value) revert InsufficientAllowance(msg.sender, allowed, value);
            allowance[from][msg.sender] = allowed - value;
        }
        _move(from, to, value);
        return true;
    }

    function _move(address from, address to, uint256 value) private {
        uint256 balance = balanceOf[from];
        if (balance < value) revert InsufficientBalance(from, balance, value);
        unchecked {
            balanceOf[from] = balance - value;
        }
        balanceOf[to] += value;
        emit Transfer(from, to, value);
    }
}
