// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import "kexin/Kexin.sol";
import "kexin/Apps.sol";

/// Product traceability (溯源): a producer registers a product batch; organisations in the
/// roles of the supply chain append its history (production, inspection with the attested
/// report, shipment, receipt, sale), append-only and in order; the producer or a regulator
/// flags a recall, after which the batch can no longer be sold.
///
/// Every caller is identified by the certificate its key acts under (the identity precompile):
/// an identity acts for its organisation when its certificate is known, unrevoked, valid at the
/// block's time and of role `admin` or `writer`. Which organisations act as producers,
/// inspectors, logistics providers, retailers and regulators is set by the admins of the
/// platform operator, the organisation that deployed the contract. Refusals revert with
/// `Error(string)` reasons that name what was wrong.
contract Traceability {
    uint8 public constant PRODUCER = 1;
    uint8 public constant INSPECTOR = 2;
    uint8 public constant LOGISTICS = 4;
    uint8 public constant RETAILER = 8;
    uint8 public constant REGULATOR = 16;

    /// Event kinds.
    uint8 public constant PRODUCTION = 1;
    uint8 public constant INSPECTION = 2;
    uint8 public constant SHIPMENT = 3;
    uint8 public constant RECEIPT = 4;
    uint8 public constant SALE = 5;

    uint256 public constant MAX_EVENTS = 1024;
    uint256 public constant MAX_NOTE = 256;
    uint256 public constant MAX_ATTRIBUTES = 1024;

    struct Batch {
        string producer;
        string name;
        string attributes; // free text, e.g. "origin=Ningxia; variety=goji; grade=A"
        uint64 registeredAt; // Unix seconds
        bool recalled;
        string recalledBy;
        string recallReason;
        uint64 recalledAt;
        uint256 eventCount;
        uint64 registeredHeight; // the block that registered it
        uint64 recalledHeight; // the block that recalled it (0 when not recalled)
    }

    struct TraceEvent {
        uint8 kind;
        string org;
        uint64 at; // the block's time, Unix seconds
        uint64 height; // the block's height
        bytes32 doc; // an attested document (0 when none)
        string note;
    }

    mapping(bytes32 => Batch) internal batches; // by keccak256(product id)
    mapping(bytes32 => TraceEvent[]) internal history;
    mapping(bytes32 => uint8) public rolesOf; // by keccak256(organisation)
    uint256 public count;
    bytes32 public immutable operator;
    string public operatorName;

    event RolesSet(string org, uint8 roles, string by);
    event Registered(string indexed productKey, string productId, string producer, string name);
    event Traced(string indexed productKey, string productId, uint256 index, uint8 kind, string org, bytes32 doc);
    event Recalled(string indexed productKey, string productId, string by, string reason);

    constructor() {
        string memory org = Apps.caller("admin");
        operator = keccak256(bytes(org));
        operatorName = org;
    }

    /// Sets which roles `org` has (a sum of PRODUCER 1, INSPECTOR 2, LOGISTICS 4, RETAILER 8,
    /// REGULATOR 16; 0 removes them): by an admin of the platform operator.
    function setRoles(string calldata org, uint8 newRoles) external {
        string memory me = Apps.caller("admin");
        require(keccak256(bytes(me)) == operator, string.concat("only the platform operator ", operatorName, "'s admins set roles; ", me, " is not the operator"));
        require(bytes(org).length > 0 && bytes(org).length <= 64, "an organisation name is 1 to 64 bytes");
        require(newRoles < 32, string.concat("unknown roles ", Apps.u(newRoles), ": a sum of 1 (producer), 2 (inspector), 4 (logistics), 8 (retailer) and 16 (regulator)"));
        rolesOf[keccak256(bytes(org))] = newRoles;
        emit RolesSet(org, newRoles, me);
    }

    /// Registers product batch `productId` (1 to 64 characters of A-Z, a-z, 0-9, `.`, `_`,
    /// `-`, so that it fits a URL and a QR code): by a producer.
    function register(string calldata productId, string calldata name, string calldata attributes) external {
        string memory me = Apps.caller("");
        _require(me, PRODUCER, "a producer");
        _checkId(productId);
        bytes32 k = keccak256(bytes(productId));
        require(bytes(batches[k].producer).length == 0, string.concat("product ", productId, " is already registered by ", batches[k].producer));
        require(bytes(name).length >= 1 && bytes(name).length <= 128, "a product name is 1 to 128 bytes");
        require(bytes(attributes).length <= MAX_ATTRIBUTES, "attributes are at most 1024 bytes");
        Batch storage b = batches[k];
        b.producer = me;
        b.name = name;
        b.attributes = attributes;
        b.registeredAt = uint64(block.timestamp);
        b.registeredHeight = uint64(block.number);
        count++;
        emit Registered(productId, productId, me, name);
    }

    /// Appends an event of `kind` to the history of `productId`: production by its producer,
    /// inspection by an inspector (with `doc`, the attested report), shipment by logistics,
    /// receipt by logistics or a retailer, sale by a retailer (not after a recall). A `doc`
    /// given must be attested on the chain.
    function trace(string calldata productId, uint8 kind, bytes32 doc, string calldata note) external returns (uint256 index) {
        string memory me = Apps.caller("");
        Batch storage b = _batch(productId);
        if (kind == PRODUCTION) {
            require(keccak256(bytes(me)) == keccak256(bytes(b.producer)), string.concat("only the producer ", b.producer, " records production of ", productId));
        } else if (kind == INSPECTION) {
            _require(me, INSPECTOR, "an inspector");
            require(doc != bytes32(0), "an inspection needs the attested report's digest");
        } else if (kind == SHIPMENT) {
            _require(me, LOGISTICS, "a logistics provider");
        } else if (kind == RECEIPT) {
            require(rolesOf[keccak256(bytes(me))] & (LOGISTICS | RETAILER) != 0, string.concat(me, " is not registered as a logistics provider or retailer"));
        } else if (kind == SALE) {
            _require(me, RETAILER, "a retailer");
            require(!b.recalled, string.concat("product ", productId, " is recalled (", b.recallReason, "): it cannot be sold"));
        } else {
            revert(string.concat("unknown event kind ", Apps.u(kind), ": 1 production, 2 inspection, 3 shipment, 4 receipt, 5 sale"));
        }
        require(doc == bytes32(0) || Kexin.evidence(doc).recorded, string.concat("document ", Apps.hex32(doc), " is not attested on the chain"));
        require(bytes(note).length <= MAX_NOTE, "a note is at most 256 bytes");
        require(b.eventCount < MAX_EVENTS, string.concat("product ", productId, " has 1024 events, the most a batch keeps"));
        history[keccak256(bytes(productId))].push(TraceEvent(kind, me, uint64(block.timestamp), uint64(block.number), doc, note));
        index = b.eventCount++;
        emit Traced(productId, productId, index, kind, me, doc);
    }

    /// Flags `productId` as recalled, with a reason: by its producer or a regulator.
    function recall(string calldata productId, string calldata reason) external {
        string memory me = Apps.caller("");
        Batch storage b = _batch(productId);
        require(
            keccak256(bytes(me)) == keccak256(bytes(b.producer)) || rolesOf[keccak256(bytes(me))] & REGULATOR != 0,
            string.concat("only the producer ", b.producer, " or a regulator may recall ", productId, "; ", me, " is neither")
        );
        require(!b.recalled, string.concat("product ", productId, " was already recalled by ", b.recalledBy));
        require(bytes(reason).length >= 1 && bytes(reason).length <= MAX_NOTE, "a recall reason is 1 to 256 bytes");
        b.recalled = true;
        b.recalledBy = me;
        b.recallReason = reason;
        b.recalledAt = uint64(block.timestamp);
        b.recalledHeight = uint64(block.number);
        emit Recalled(productId, productId, me, reason);
    }

    /// The batch `productId`.
    function batch(string calldata productId) external view returns (Batch memory) {
        return _batch(productId);
    }

    /// The history of `productId`, in order.
    function events(string calldata productId) external view returns (TraceEvent[] memory) {
        _batch(productId);
        return history[keccak256(bytes(productId))];
    }

    /// The roles of `org`.
    function roles(string calldata org) external view returns (uint8) {
        return rolesOf[keccak256(bytes(org))];
    }

    function _batch(string calldata productId) internal view returns (Batch storage b) {
        b = batches[keccak256(bytes(productId))];
        require(bytes(b.producer).length > 0, string.concat("no product ", productId));
    }

    function _require(string memory org, uint8 role, string memory what) internal view {
        require(rolesOf[keccak256(bytes(org))] & role != 0, string.concat(org, " is not registered as ", what));
    }

    function _checkId(string calldata id) internal pure {
        bytes calldata b = bytes(id);
        require(b.length >= 1 && b.length <= 64, "a product id is 1 to 64 characters");
        for (uint256 i = 0; i < b.length; i++) {
            bytes1 c = b[i];
            bool ok = (c >= "0" && c <= "9") || (c >= "A" && c <= "Z") || (c >= "a" && c <= "z") || c == "." || c == "_" || c == "-";
            require(ok, string.concat("a product id is made of A-Z, a-z, 0-9, '.', '_' and '-'; character ", Apps.u(i + 1), " is not"));
        }
    }
}
