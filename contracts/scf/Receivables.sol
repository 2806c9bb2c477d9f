// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import "kexin/Kexin.sol";
import "kexin/Apps.sol";

/// Supply-chain finance receivables (应收账款 / 债权凭证) between the consortium's
/// organisations: a core enterprise issues a receivable to a supplier against attested trade
/// documents, confirms it as the debtor, and settles it at maturity; holders split it into
/// parts, transfer parts down their supply chain, and assign parts to a bank at a discount.
///
/// Every party is an organisation, and every caller is identified by the certificate its key
/// acts under (the identity precompile): a role or a holder is never taken from an argument.
/// An identity acts for its organisation when its certificate is known, unrevoked, valid at
/// the block's time, and of role `admin` or `writer`; confirming and settling (the debtor's
/// commitments) need `admin`. Which organisations act as core enterprises, suppliers and
/// financiers is set by the admins of the platform operator: the organisation that deployed
/// the contract.
///
/// Refusals revert with `Error(string)` reasons that say what was wrong and with which values.
///
/// Storage layout, for offline proofs (docs/applications.md): `receivables` is the mapping at
/// slot 0; receivable `id`'s fields start at `b = keccak256(abi.encode(id, 0))`: `b` holds
/// `keccak256(bytes(holder org))`, `b + 1` the amount, `b + 2` from its low end the state (1
/// byte, 0 when absent), financed (1), rateBps (2), maturity (8), root (8) and parent (8),
/// `b + 3` `keccak256(bytes(issuer org))`, `b + 6` the currency (a short string).
contract Receivables {
    /// A receivable's state. `Confirmed` is the one in which it can be split, transferred,
    /// financed and settled.
    enum State {
        None,
        Pending, // issued, awaiting the debtor's confirmation
        Confirmed,
        Rejected, // the holder refused it before confirmation
        Split, // replaced by its parts
        Settled
    }

    uint8 public constant CORE = 1;
    uint8 public constant SUPPLIER = 2;
    uint8 public constant FINANCIER = 4;

    uint256 public constant MAX_PARTS = 16;
    uint256 public constant MAX_DOCS = 16;
    uint256 public constant MAX_TEXT = 128;
    uint256 public constant MAX_PAGE = 50;

    struct Receivable {
        bytes32 holder; // keccak256 of the holder organisation's name (slot b)
        uint256 amount; // in the currency's minor unit (slot b + 1)
        State state; // (slot b + 2)
        bool financed;
        uint16 rateBps; // the discount rate it was financed at, in basis points
        uint64 maturity; // Unix seconds
        uint64 root; // the receivable it was split from, transitively (itself for a root)
        uint64 parent; // the receivable it was split from (0 for a root)
        bytes32 issuer; // keccak256 of the debtor organisation's name (slot b + 3)
        bytes32 offeredTo; // a pending financing offer's financier (0 when none)
        uint16 offeredRateBps;
        uint64 settledAt;
        string currency;
        string paymentRef;
        bytes32 paymentDoc;
    }

    /// A receivable as the views return it, with organisation names.
    struct View {
        uint256 id;
        string status; // pending, confirmed, overdue, rejected, split, settled
        string holder;
        string issuer;
        uint256 amount;
        string currency;
        uint64 maturity;
        uint64 root;
        uint64 parent;
        bool financed;
        string financier; // when financed: the bank that holds it
        uint16 rateBps;
        string offeredTo; // a pending financing offer
        uint16 offeredRateBps;
        uint64 settledAt;
        string paymentRef;
        bytes32 paymentDoc;
        uint256[] children;
        bytes32[] docs; // the root's trade documents
    }

    mapping(uint256 => Receivable) internal receivables; // slot 0 (see the layout above)
    mapping(uint256 => uint256[]) internal children;
    mapping(uint256 => bytes32[]) internal docs; // by root
    mapping(bytes32 => string) public orgName;
    mapping(bytes32 => uint8) public rolesOf;
    mapping(uint256 => bytes32) internal financierOf;
    uint256 public count;
    bytes32 public immutable operator;

    event RolesSet(string org, uint8 roles, string by);
    event Issued(uint256 indexed id, string issuer, string holder, uint256 amount, string currency, uint64 maturity);
    event Confirmed(uint256 indexed id, string issuer);
    event Rejected(uint256 indexed id, string holder, string reason);
    event SplitInto(uint256 indexed id, uint256[] parts, uint256[] amounts);
    event Transferred(uint256 indexed id, string from, string to);
    event FinanceOffered(uint256 indexed id, string holder, string financier, uint16 rateBps);
    event FinanceWithdrawn(uint256 indexed id, string by);
    event Financed(uint256 indexed id, string from, string financier, uint16 rateBps);
    event Settled(uint256 indexed id, string holder, uint256 amount, string paymentRef, bytes32 paymentDoc);

    constructor() {
        (string memory org,) = _caller("admin");
        operator = _key(org);
        orgName[operator] = org;
    }

    // ---- onboarding ----

    /// Sets which roles `org` has (a sum of CORE, SUPPLIER and FINANCIER; 0 removes them): by
    /// an admin of the platform operator.
    function setRoles(string calldata org, uint8 newRoles) external {
        (string memory me, bytes32 mine) = _caller("admin");
        require(mine == operator, string.concat("only the platform operator ", orgName[operator], "'s admins set roles; ", me, " is not the operator"));
        require(bytes(org).length > 0 && bytes(org).length <= 64, "an organisation name is 1 to 64 bytes");
        require(newRoles <= CORE + SUPPLIER + FINANCIER, string.concat("unknown roles ", Apps.u(newRoles), ": a sum of 1 (core), 2 (supplier) and 4 (financier)"));
        bytes32 k = _key(org);
        orgName[k] = org;
        rolesOf[k] = newRoles;
        emit RolesSet(org, newRoles, me);
    }

    // ---- the lifecycle ----

    /// Issues a receivable of `amount` (minor units of `currency`) maturing at `maturity` (Unix
    /// seconds) to the supplier `to`, against attested trade documents: by a core enterprise,
    /// the debtor. It awaits the debtor's confirmation.
    function issue(string calldata to, uint256 amount, string calldata currency, uint64 maturity, bytes32[] calldata tradeDocs)
        external
        returns (uint256 id)
    {
        (string memory me, bytes32 mine) = _caller("");
        require(rolesOf[mine] & CORE != 0, string.concat(me, " is not registered as a core enterprise"));
        bytes32 holder = _key(to);
        require(rolesOf[holder] & SUPPLIER != 0, string.concat(to, " is not registered as a supplier"));
        require(holder != mine, "a core enterprise cannot issue a receivable to itself");
        require(amount > 0, "the amount must be above 0");
        require(bytes(currency).length >= 1 && bytes(currency).length <= 8, "a currency is 1 to 8 bytes, e.g. CNY");
        require(maturity > block.timestamp, string.concat("the maturity ", Apps.u(maturity), " is not after the block's time ", Apps.u(block.timestamp)));
        require(tradeDocs.length >= 1 && tradeDocs.length <= MAX_DOCS, string.concat("a receivable needs 1 to 16 trade documents, got ", Apps.u(tradeDocs.length)));
        for (uint256 i = 0; i < tradeDocs.length; i++) {
            require(Kexin.evidence(tradeDocs[i]).recorded, string.concat("trade document ", Apps.hex32(tradeDocs[i]), " is not attested on the chain"));
        }
        id = ++count;
        Receivable storage r = receivables[id];
        r.holder = holder;
        r.amount = amount;
        r.state = State.Pending;
        r.maturity = maturity;
        r.root = uint64(id);
        r.issuer = mine;
        r.currency = currency;
        docs[id] = tradeDocs;
        emit Issued(id, me, to, amount, currency, maturity);
    }

    /// Confirms receivable `id`: by an admin of its debtor, while it is pending.
    function confirm(uint256 id) external {
        Receivable storage r = _get(id);
        (string memory me, bytes32 mine) = _caller("admin");
        require(mine == r.issuer, string.concat("only the debtor ", orgName[r.issuer], " may confirm receivable ", Apps.u(id), "; ", me, " is not"));
        require(r.state == State.Pending, string.concat("receivable ", Apps.u(id), " is ", _status(r), ", not pending"));
        r.state = State.Confirmed;
        emit Confirmed(id, me);
    }

    /// Rejects receivable `id` before its confirmation: by its holder.
    function reject(uint256 id, string calldata reason) external {
        Receivable storage r = _get(id);
        (string memory me, bytes32 mine) = _caller("");
        require(mine == r.holder, string.concat("only the holder ", orgName[r.holder], " may reject receivable ", Apps.u(id)));
        require(r.state == State.Pending, string.concat("receivable ", Apps.u(id), " is ", _status(r), ": only a pending one can be rejected"));
        require(bytes(reason).length <= MAX_TEXT, "a reason is at most 128 bytes");
        r.state = State.Rejected;
        emit Rejected(id, me, reason);
    }

    /// Splits confirmed receivable `id` into parts of `amounts`, which add up to its amount
    /// exactly: by its holder. The parts keep its debtor, currency, maturity and lineage.
    function split(uint256 id, uint256[] calldata amounts) external returns (uint256[] memory parts) {
        Receivable storage r = _active(id, "split");
        require(amounts.length >= 2 && amounts.length <= MAX_PARTS, string.concat("a split makes 2 to 16 parts, got ", Apps.u(amounts.length)));
        uint256 sum;
        string memory shown;
        for (uint256 i = 0; i < amounts.length; i++) {
            require(amounts[i] > 0, string.concat("part ", Apps.u(i + 1), " of the split is 0"));
            sum += amounts[i];
            shown = i == 0 ? Apps.u(amounts[i]) : string.concat(shown, " + ", Apps.u(amounts[i]));
        }
        require(sum == r.amount, string.concat("split amounts ", shown, " do not add up to ", Apps.u(r.amount)));
        r.state = State.Split;
        parts = new uint256[](amounts.length);
        for (uint256 i = 0; i < amounts.length; i++) {
            uint256 part = ++count;
            Receivable storage p = receivables[part];
            p.holder = r.holder;
            p.amount = amounts[i];
            p.state = State.Confirmed;
            p.maturity = r.maturity;
            p.root = r.root;
            p.parent = uint64(id);
            p.issuer = r.issuer;
            p.currency = r.currency;
            p.financed = r.financed;
            p.rateBps = r.rateBps;
            financierOf[part] = financierOf[id];
            parts[i] = part;
        }
        children[id] = parts;
        emit SplitInto(id, parts, amounts);
    }

    /// Transfers confirmed receivable `id` to the supplier `to`: by its holder.
    function transfer(uint256 id, string calldata to) external {
        Receivable storage r = _active(id, "transfer");
        bytes32 k = _key(to);
        require(rolesOf[k] & SUPPLIER != 0, string.concat(to, " is not registered as a supplier"));
        require(k != r.holder, string.concat(to, " already holds receivable ", Apps.u(id)));
        string memory from = orgName[r.holder];
        r.holder = k;
        emit Transferred(id, from, to);
    }

    /// Offers confirmed receivable `id` to the financier `financier` at a discount of
    /// `rateBps` basis points (1..=10000): by its holder. The financier accepts it with
    /// `acceptFinance`; a part financed once cannot be financed again.
    function offerFinance(uint256 id, string calldata financier, uint16 rateBps) external {
        Receivable storage r = _active(id, "finance");
        require(!r.financed, string.concat("receivable ", Apps.u(id), " is already financed by ", orgName[financierOf[id]]));
        bytes32 k = _key(financier);
        require(rolesOf[k] & FINANCIER != 0, string.concat(financier, " is not registered as a financier"));
        require(k != r.holder, string.concat(financier, " already holds receivable ", Apps.u(id)));
        require(rateBps >= 1 && rateBps <= 10000, string.concat("a discount rate is 1 to 10000 basis points, got ", Apps.u(rateBps)));
        r.offeredTo = k;
        r.offeredRateBps = rateBps;
        emit FinanceOffered(id, orgName[r.holder], financier, rateBps);
    }

    /// Accepts the financing offer of receivable `id`: by the financier offered it, which
    /// becomes its holder.
    function acceptFinance(uint256 id) external {
        Receivable storage r = _get(id);
        (string memory me, bytes32 mine) = _caller("");
        require(r.offeredTo != bytes32(0), string.concat("receivable ", Apps.u(id), " has no financing offer"));
        require(mine == r.offeredTo, string.concat("receivable ", Apps.u(id), " is offered to ", orgName[r.offeredTo], ", not ", me));
        require(r.state == State.Confirmed, string.concat("receivable ", Apps.u(id), " is ", _status(r), ", not confirmed"));
        string memory from = orgName[r.holder];
        r.holder = mine;
        r.financed = true;
        r.rateBps = r.offeredRateBps;
        financierOf[id] = mine;
        r.offeredTo = bytes32(0);
        r.offeredRateBps = 0;
        emit Financed(id, from, me, r.rateBps);
    }

    /// Withdraws the financing offer of receivable `id`: by its holder, or declined by the
    /// financier offered it.
    function withdrawFinance(uint256 id) external {
        Receivable storage r = _get(id);
        (string memory me, bytes32 mine) = _caller("");
        require(r.offeredTo != bytes32(0), string.concat("receivable ", Apps.u(id), " has no financing offer"));
        require(mine == r.holder || mine == r.offeredTo, string.concat("only the holder or the financier offered receivable ", Apps.u(id), " may withdraw the offer"));
        r.offeredTo = bytes32(0);
        r.offeredRateBps = 0;
        emit FinanceWithdrawn(id, me);
    }

    /// Settles confirmed receivable `id` to its holder at or after maturity, recording the
    /// off-chain payment's reference and, optionally, an attested payment slip: by an admin of
    /// its debtor.
    function settle(uint256 id, string calldata paymentRef, bytes32 paymentDoc) external {
        Receivable storage r = _get(id);
        (string memory me, bytes32 mine) = _caller("admin");
        require(mine == r.issuer, string.concat("only the debtor ", orgName[r.issuer], " may settle receivable ", Apps.u(id), "; ", me, " is not"));
        require(r.state == State.Confirmed, string.concat("receivable ", Apps.u(id), " is ", _status(r), ", not confirmed"));
        require(block.timestamp >= r.maturity, string.concat("receivable ", Apps.u(id), " matures at ", Apps.u(r.maturity), ", the block's time is ", Apps.u(block.timestamp)));
        require(bytes(paymentRef).length >= 1 && bytes(paymentRef).length <= MAX_TEXT, "a payment reference is 1 to 128 bytes");
        require(paymentDoc == bytes32(0) || Kexin.evidence(paymentDoc).recorded, string.concat("payment slip ", Apps.hex32(paymentDoc), " is not attested on the chain"));
        r.state = State.Settled;
        r.settledAt = uint64(block.timestamp);
        r.paymentRef = paymentRef;
        r.paymentDoc = paymentDoc;
        r.offeredTo = bytes32(0);
        r.offeredRateBps = 0;
        emit Settled(id, orgName[r.holder], r.amount, paymentRef, paymentDoc);
    }

    // ---- views ----

    /// Receivable `id` with names, its status (an unsettled confirmed one past maturity is
    /// `overdue`), parts and the root's trade documents.
    function get(uint256 id) external view returns (View memory v) {
        return _view(id);
    }

    /// Receivables `fromId` to `fromId + limit - 1` (those that exist; at most MAX_PAGE), as
    /// `get` returns them: for listing them in a few calls.
    function page(uint256 fromId, uint256 limit) external view returns (View[] memory views) {
        require(fromId >= 1, "receivable ids start at 1");
        require(limit >= 1 && limit <= MAX_PAGE, "a page holds 1 to 50 receivables");
        if (fromId > count) return new View[](0);
        uint256 last = fromId + limit - 1;
        if (last > count) last = count;
        views = new View[](last >= fromId ? last - fromId + 1 : 0);
        for (uint256 i = 0; i < views.length; i++) {
            views[i] = _view(fromId + i);
        }
    }

    /// The roles of `org` (CORE, SUPPLIER, FINANCIER summed).
    function roles(string calldata org) external view returns (uint8) {
        return rolesOf[_key(org)];
    }

    // ---- internals ----

    function _view(uint256 id) internal view returns (View memory v) {
        Receivable storage r = _get(id);
        v.id = id;
        v.status = _status(r);
        v.holder = orgName[r.holder];
        v.issuer = orgName[r.issuer];
        v.amount = r.amount;
        v.currency = r.currency;
        v.maturity = r.maturity;
        v.root = r.root;
        v.parent = r.parent;
        v.financed = r.financed;
        v.financier = orgName[financierOf[id]];
        v.rateBps = r.rateBps;
        v.offeredTo = orgName[r.offeredTo];
        v.offeredRateBps = r.offeredRateBps;
        v.settledAt = r.settledAt;
        v.paymentRef = r.paymentRef;
        v.paymentDoc = r.paymentDoc;
        v.children = children[id];
        v.docs = docs[r.root];
    }

    function _get(uint256 id) internal view returns (Receivable storage r) {
        r = receivables[id];
        require(r.state != State.None, string.concat("no receivable ", Apps.u(id)));
    }

    /// Receivable `id`, checked to be confirmed, held by the caller's organisation and not
    /// under a financing offer, for `action`.
    function _active(uint256 id, string memory action) internal view returns (Receivable storage r) {
        r = _get(id);
        (string memory me, bytes32 mine) = _caller("");
        require(mine == r.holder, string.concat("only the holder ", orgName[r.holder], " may ", action, " receivable ", Apps.u(id), "; ", me, " is not"));
        require(r.state == State.Confirmed, string.concat("cannot ", action, " receivable ", Apps.u(id), ": it is ", _status(r), ", not confirmed"));
        require(r.offeredTo == bytes32(0), string.concat("receivable ", Apps.u(id), " is offered to ", orgName[r.offeredTo], " for financing; withdraw the offer first"));
    }

    /// The caller's organisation (name and key), as `Apps.caller(role)` checks it.
    function _caller(string memory role) internal view returns (string memory org, bytes32 key) {
        org = Apps.caller(role);
        key = _key(org);
    }

    function _status(Receivable storage r) internal view returns (string memory) {
        if (r.state == State.Pending) return "pending";
        if (r.state == State.Rejected) return "rejected";
        if (r.state == State.Split) return "split";
        if (r.state == State.Settled) return "settled";
        return block.timestamp > r.maturity ? "overdue" : "confirmed";
    }

    function _key(string memory org) internal pure returns (bytes32) {
        return keccak256(bytes(org));
    }
}
