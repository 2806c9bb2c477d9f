//! SM2 for commonware, tested the way commonware tests its own schemes: the key types against
//! commonware's signer conventions and canonical codecs, the certificate scheme against the
//! `certificate::Scheme` contract, the byte layout documented in `scheme::sm2` against what the
//! code produces, SM2 keys as p2p identities over `authenticated::lookup`, and simplex itself
//! running on SM2 on the deterministic runtime.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use commonware_codec::{Copying, Decode, DecodeExt, Encode, FixedSize};
use commonware_consensus::Monitor;
use commonware_consensus::simplex::{
    self, Engine, ForwardPolicy, SkipBudget, SkipPolicy,
    elector::RoundRobin,
    mocks,
    scheme::Namespace,
    types::{Finalization, Proposal, Subject},
};
use commonware_consensus::types::{Epoch, Round, View, ViewDelta};
use commonware_cryptography::{
    ChaCha20Poly1305, Sha256, Signer as _, Verifier as _,
    certificate::{AssemblyError, Attestation, Membership, Scheme as _, Signers, Verifier as _},
    sha256::Digest as Sha256Digest,
};
use commonware_math::algebra::Random;
use commonware_p2p::{
    Address, AddressableManager as _, Receiver as _, Recipients, Sender as _,
    authenticated::lookup,
    max_message_size,
    simulated::{self, Link, Network},
};
use commonware_parallel::Sequential;
use commonware_runtime::{
    Quota, Runner as _, Spawner as _, Supervisor as _, buffer::paged::CacheRef, deterministic,
};
use commonware_stream::{
    Upgrader,
    cups::{self, Cups},
    sake::{self, Sake},
};
use commonware_utils::{
    NZDuration, NZU16, NZU32, NZUsize, Participant, TestRng,
    iter::NonEmpty,
    ordered::{Map, Set},
    probability, test_rng, union_unique,
};
use kexin_consensus::scheme::sm2::{
    Certificate, PRIVATE_KEY_LENGTH, PUBLIC_KEY_LENGTH, PrivateKey, PublicKey, SIGNATURE_LENGTH,
    Scheme, Signature,
};
use kexin_crypto::{CryptoError, Suite};

type D = Sha256Digest;

const NAMESPACE: &[u8] = b"kexin/test";

/// The SM2 curve order `n`, big-endian.
const ORDER: [u8; 32] = [
    0xFF, 0xFF, 0xFF, 0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0x72, 0x03, 0xDF, 0x6B, 0x21, 0xC6, 0x05, 0x2B, 0x53, 0xBB, 0xF4, 0x09, 0x39, 0xD5, 0x41, 0x23,
];

/// The SM2 field prime `p`, big-endian.
const FIELD_PRIME: [u8; 32] = [
    0xFF, 0xFF, 0xFF, 0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
];

/// Big-endian `a + k` for a 32-byte number (no overflow in the uses below).
fn add_small(mut a: [u8; 32], k: u8) -> [u8; 32] {
    let mut carry = u16::from(k);
    for byte in a.iter_mut().rev() {
        let sum = u16::from(*byte) + carry;
        *byte = sum as u8;
        carry = sum >> 8;
    }
    assert_eq!(carry, 0);
    a
}

/// Big-endian `a - k` for a 32-byte number (no underflow in the uses below).
fn sub_small(mut a: [u8; 32], k: u8) -> [u8; 32] {
    let mut borrow = i16::from(k);
    for byte in a.iter_mut().rev() {
        let diff = i16::from(*byte) - borrow;
        *byte = diff.rem_euclid(256) as u8;
        borrow = i16::from(diff < 0);
    }
    assert_eq!(borrow, 0);
    a
}

fn unhex(s: &str) -> Vec<u8> {
    let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn signature_with(r: [u8; 32], s: [u8; 32]) -> Vec<u8> {
    [r, s].concat()
}

// ---------------------------------------------------------------------------------------------
// Keys and signatures
// ---------------------------------------------------------------------------------------------

#[test]
fn sign_and_verify_under_a_namespace() {
    let key = PrivateKey::from_seed(0);
    let public = key.public_key();
    let signature = key.sign(NAMESPACE, b"message");
    assert!(public.verify(NAMESPACE, b"message", &signature));

    // An empty namespace is still a namespace (a zero length prefix).
    let signature = key.sign(b"", b"message");
    assert!(public.verify(b"", b"message", &signature));
}

#[test]
fn wrong_namespace_message_or_key_fails() {
    let key = PrivateKey::from_seed(0);
    let signature = key.sign(NAMESPACE, b"message");
    let public = key.public_key();
    assert!(!public.verify(b"kexin/other", b"message", &signature));
    assert!(!public.verify(NAMESPACE, b"messagf", &signature));
    assert!(!public.verify(b"", b"message", &signature));
    assert!(
        !PrivateKey::from_seed(1)
            .public_key()
            .verify(NAMESPACE, b"message", &signature)
    );

    // The namespace length prefix keeps (namespace, message) splits apart.
    let split = key.sign(b"kexin/tes", b"tmessage");
    assert!(!public.verify(NAMESPACE, b"message", &split));
    assert_ne!(split, signature);
}

#[test]
fn signing_is_deterministic() {
    let a = PrivateKey::from_seed(7);
    let b = PrivateKey::from_seed(7);
    assert_eq!(a, b);
    assert_eq!(a.public_key(), b.public_key());
    assert_eq!(a.sign(NAMESPACE, b"vote"), b.sign(NAMESPACE, b"vote"));
    assert_ne!(a.sign(NAMESPACE, b"vote"), a.sign(NAMESPACE, b"vote2"));
    assert_ne!(a, PrivateKey::from_seed(8));
}

/// The signed bytes are exactly commonware's `union_unique(namespace, msg)`:
/// `varint(len(namespace)) ‖ namespace ‖ msg`, signed as plain SM2 with the default user id.
#[test]
fn signed_bytes_are_union_unique() {
    let key = PrivateKey::from_seed(3);
    let raw_key = kexin_crypto::PublicKey::from(key.public_key());
    let signature = key.sign(NAMESPACE, b"payload");
    let raw_sig = kexin_crypto::Signature::from(signature);

    let mut by_hand = vec![NAMESPACE.len() as u8];
    by_hand.extend_from_slice(NAMESPACE);
    by_hand.extend_from_slice(b"payload");
    assert_eq!(by_hand, union_unique(NAMESPACE, b"payload"));
    assert_eq!(raw_key.verify_raw(&by_hand, &raw_sig), Ok(()));
    assert!(raw_key.verify_raw(b"payload", &raw_sig).is_err());

    // A namespace of 128 bytes or more takes a two-byte varint prefix.
    let long = [b'n'; 200];
    let signature = key.sign(&long, b"payload");
    let mut by_hand = vec![0xC8, 0x01];
    by_hand.extend_from_slice(&long);
    by_hand.extend_from_slice(b"payload");
    assert_eq!(raw_key.verify_raw(&by_hand, &signature.into()), Ok(()));

    // And the same key signs the same way through kexin-crypto.
    let kexin_key = kexin_crypto::SigningKey::from(&key);
    assert_eq!(kexin_key.sign_raw(&by_hand), signature.into());
}

/// GB/T 32918.5-2017 Appendix A key on the recommended curve: `d` gives `(x_A, y_A)` with odd
/// `y_A`, so the compressed key is `03 ‖ x_A`.
#[test]
fn public_key_derivation_matches_the_standard() {
    let d: [u8; 32] = unhex("3945208F7B2144B13F36E38AC6D39F95889393692860B51A42FB81EF4DF7C5B8")
        .try_into()
        .unwrap();
    let key = PrivateKey::from_scalar(&d).unwrap();
    assert_eq!(
        hex(key.public_key().as_bytes()),
        "0309f9df311e5421a150dd7d161e4bc5c672179fad1833fc076bb08ff356f35020"
    );
    assert_eq!(hex(&key.encode()), hex(&d));
}

/// Frozen: changes only if SM2 nonce derivation in kexin-crypto (the `sm2` crate) changes,
/// which would make a restarted validator sign a vote differently than before.
#[test]
fn signature_vector_is_frozen() {
    let d: [u8; 32] = unhex("3945208F7B2144B13F36E38AC6D39F95889393692860B51A42FB81EF4DF7C5B8")
        .try_into()
        .unwrap();
    let key = PrivateKey::from_scalar(&d).unwrap();
    let signature = key.sign(NAMESPACE, b"message digest");
    assert_eq!(hex(&signature), FROZEN_SIGNATURE);
    assert!(
        key.public_key()
            .verify(NAMESPACE, b"message digest", &signature)
    );
}

const FROZEN_SIGNATURE: &str = "826030821a3c9a613037d548fc0366d2a12af2170ed10b094d6f47c94ffcf84e1416e944c23718ac5125688c37c7cf52428f1bcd7a246a5abb2d1c4d5084b87f";

#[test]
fn every_flipped_signature_byte_fails() {
    let key = PrivateKey::from_seed(0);
    let public = key.public_key();
    let signature = key.sign(NAMESPACE, b"message");
    for i in 0..SIGNATURE_LENGTH {
        for bit in [0x01, 0x80] {
            let mut bytes = signature.encode().to_vec();
            bytes[i] ^= bit;
            // Either the bytes no longer encode a signature at all, or it does not verify.
            if let Ok(flipped) = Signature::decode(Copying(bytes.as_slice())) {
                assert!(
                    !public.verify(NAMESPACE, b"message", &flipped),
                    "byte {i} bit {bit}"
                );
            }
        }
    }
}

#[test]
fn every_flipped_public_key_byte_fails() {
    let key = PrivateKey::from_seed(0);
    let signature = key.sign(NAMESPACE, b"message");
    for i in 0..PUBLIC_KEY_LENGTH {
        let mut bytes = key.public_key().encode().to_vec();
        bytes[i] ^= 0x01;
        if let Ok(flipped) = PublicKey::decode(Copying(bytes.as_slice())) {
            assert!(
                !flipped.verify(NAMESPACE, b"message", &signature),
                "byte {i}"
            );
        }
    }
}

#[test]
fn sizes() {
    assert_eq!(PrivateKey::SIZE, 32);
    assert_eq!(PublicKey::SIZE, 33);
    assert_eq!(Signature::SIZE, 64);
    assert_eq!(PRIVATE_KEY_LENGTH, 32);
    assert_eq!(PUBLIC_KEY_LENGTH, 33);
}

#[test]
fn codec_round_trips() {
    let mut rng = test_rng();
    for _ in 0..16 {
        let key = PrivateKey::random(&mut rng);
        let decoded = PrivateKey::decode(key.encode()).unwrap();
        assert_eq!(decoded, key);
        assert_eq!(decoded.public_key(), key.public_key());

        let public = key.public_key();
        let encoded = public.encode();
        assert_eq!(encoded.len(), PUBLIC_KEY_LENGTH);
        assert!(encoded[0] == 0x02 || encoded[0] == 0x03);
        assert_eq!(PublicKey::decode(encoded).unwrap(), public);

        let signature = key.sign(NAMESPACE, b"m");
        assert_eq!(Signature::decode(signature.encode()).unwrap(), signature);
    }
}

#[test]
fn public_key_order_is_byte_order() {
    let mut rng = test_rng();
    let keys: Vec<PublicKey> = (0..16)
        .map(|_| PrivateKey::random(&mut rng).public_key())
        .collect();
    for a in &keys {
        for b in &keys {
            assert_eq!(a.cmp(b), a.as_ref().cmp(b.as_ref()));
            assert_eq!(a == b, a.as_ref() == b.as_ref());
        }
    }
}

#[test]
fn truncated_and_trailing_encodings_are_refused() {
    let key = PrivateKey::from_seed(0);
    let encodings = [
        key.encode().to_vec(),
        key.public_key().encode().to_vec(),
        key.sign(NAMESPACE, b"m").encode().to_vec(),
    ];
    for (i, bytes) in encodings.iter().enumerate() {
        let short = &bytes[..bytes.len() - 1];
        let mut long = bytes.clone();
        long.push(0);
        let (short_ok, long_ok) = match i {
            0 => (
                PrivateKey::decode(Copying(short)).is_ok(),
                PrivateKey::decode(Copying(long.as_slice())).is_ok(),
            ),
            1 => (
                PublicKey::decode(Copying(short)).is_ok(),
                PublicKey::decode(Copying(long.as_slice())).is_ok(),
            ),
            _ => (
                Signature::decode(Copying(short)).is_ok(),
                Signature::decode(Copying(long.as_slice())).is_ok(),
            ),
        };
        assert!(!short_ok && !long_ok, "encoding {i}");
    }
    assert!(PublicKey::decode(vec![0u8; 1024]).is_err());
}

#[test]
fn invalid_public_keys_are_refused() {
    let good = PrivateKey::from_seed(0).public_key().encode().to_vec();

    // Prefixes other than 02/03, including uncompressed and identity markers.
    for prefix in [0x00, 0x01, 0x04, 0x05, 0x06, 0x07, 0xFF] {
        let mut bytes = good.clone();
        bytes[0] = prefix;
        assert!(
            PublicKey::decode(Copying(bytes.as_slice())).is_err(),
            "prefix {prefix:02x}"
        );
    }
    // The identity (all zero) in 33 bytes.
    assert!(PublicKey::decode(vec![0u8; 33]).is_err());

    // An x that is not on the curve: about half of all x are not; take the first few.
    let mut refused = 0;
    for x in 0u8..16 {
        let mut bytes = vec![0x02];
        bytes.extend_from_slice(&[0u8; 31]);
        bytes.push(x);
        let on_curve = kexin_crypto::PublicKey::from_bytes(Suite::Gm, &bytes).is_ok();
        assert_eq!(
            PublicKey::decode(Copying(bytes.as_slice())).is_ok(),
            on_curve,
            "x = {x}"
        );
        refused += usize::from(!on_curve);
    }
    assert!(refused > 0);

    // x >= p is not a canonical coordinate, whatever it would reduce to.
    for x in [FIELD_PRIME, add_small(FIELD_PRIME, 1), [0xFF; 32]] {
        for prefix in [0x02, 0x03] {
            let bytes = [&[prefix][..], &x].concat();
            assert!(PublicKey::decode(Copying(bytes.as_slice())).is_err());
        }
    }
}

#[test]
fn non_canonical_signatures_are_refused() {
    let good = PrivateKey::from_seed(0).sign(NAMESPACE, b"m");
    let r: [u8; 32] = good[..32].try_into().unwrap();
    let s: [u8; 32] = good[32..].try_into().unwrap();
    let zero = [0u8; 32];
    let n = ORDER;
    let bad = [
        signature_with(zero, s),
        signature_with(r, zero),
        signature_with(zero, zero),
        signature_with(n, s),
        signature_with(r, n),
        signature_with(add_small(n, 1), s),
        signature_with(r, add_small(n, 1)),
        signature_with([0xFF; 32], s),
        signature_with(r, [0xFF; 32]),
    ];
    for (i, bytes) in bad.iter().enumerate() {
        assert!(
            Signature::decode(Copying(bytes.as_slice())).is_err(),
            "case {i}"
        );
        let raw: [u8; 64] = bytes.as_slice().try_into().unwrap();
        assert_eq!(
            Signature::try_from(kexin_crypto::Signature(raw)),
            Err(CryptoError::BadSignature),
            "case {i}"
        );
    }
    // The extremes of the valid range decode.
    let one = add_small(zero, 1);
    let n_minus_1 = sub_small(n, 1);
    for bytes in [
        signature_with(one, one),
        signature_with(n_minus_1, n_minus_1),
    ] {
        assert!(Signature::decode(Copying(bytes.as_slice())).is_ok());
    }
}

#[test]
fn invalid_private_keys_are_refused() {
    let zero = [0u8; 32];
    for scalar in [
        zero,
        ORDER,
        sub_small(ORDER, 1),
        add_small(ORDER, 1),
        [0xFF; 32],
    ] {
        assert!(
            PrivateKey::decode(Copying(scalar.as_slice())).is_err(),
            "{}",
            hex(&scalar)
        );
        assert!(PrivateKey::from_scalar(&scalar).is_err());
    }
    for scalar in [add_small(zero, 1), sub_small(ORDER, 2)] {
        let key = PrivateKey::decode(Copying(scalar.as_slice())).unwrap();
        let signature = key.sign(NAMESPACE, b"m");
        assert!(key.public_key().verify(NAMESPACE, b"m", &signature));
    }
}

#[test]
fn private_key_formatting_hides_the_secret() {
    let key = PrivateKey::from_seed(0);
    let secret = hex(&key.encode());
    for shown in [format!("{key:?}"), format!("{key}")] {
        assert!(shown.contains("REDACTED"), "{shown}");
        assert!(!shown.to_lowercase().contains(&secret[..8]), "{shown}");
    }
    // Public keys and signatures print as hex.
    assert_eq!(
        format!("{}", key.public_key()),
        hex(key.public_key().as_bytes())
    );
    let signature = key.sign(NAMESPACE, b"m");
    assert_eq!(format!("{signature:?}"), hex(signature.as_bytes()));
}

#[test]
fn conversions_with_kexin_crypto() {
    let kexin_key = kexin_crypto::SigningKey::from_seed(Suite::Gm, &[9; 32]).unwrap();
    let key = PrivateKey::try_from(&kexin_key).unwrap();
    assert_eq!(
        kexin_crypto::PublicKey::from(key.public_key()),
        kexin_key.public_key()
    );
    assert_eq!(
        PublicKey::try_from(kexin_key.public_key()).unwrap(),
        key.public_key()
    );
    assert_eq!(key.encode().as_ref(), &[9u8; 32]);
    let back = kexin_crypto::SigningKey::from(&key);
    assert_eq!(back.public_key(), kexin_key.public_key());

    // The PEM form survives the trip.
    let pem = kexin_key.to_pkcs8_pem();
    let from_pem = kexin_crypto::SigningKey::from_pkcs8_pem(&pem).unwrap();
    assert_eq!(PrivateKey::try_from(&from_pem).unwrap(), key);

    let signature = key.sign(NAMESPACE, b"m");
    let raw = kexin_crypto::Signature::from(signature);
    assert_eq!(Signature::try_from(raw).unwrap(), signature);

    // Ed25519 material is the wrong suite.
    let ed = kexin_crypto::SigningKey::from_seed(Suite::Intl, &[9; 32]).unwrap();
    assert!(matches!(
        PrivateKey::try_from(&ed),
        Err(CryptoError::WrongSuite { .. })
    ));
    assert!(matches!(
        PublicKey::try_from(ed.public_key()),
        Err(CryptoError::WrongSuite { .. })
    ));
}

#[test]
fn random_keys_follow_the_rng() {
    let a = PrivateKey::random(TestRng::new(5));
    let b = PrivateKey::random(TestRng::new(5));
    let c = PrivateKey::random(TestRng::new(6));
    assert_eq!(a, b);
    assert_ne!(a, c);
    assert_eq!(PrivateKey::from_seed(11), PrivateKey::from_seed(11));
}

// ---------------------------------------------------------------------------------------------
// Certificate scheme
// ---------------------------------------------------------------------------------------------

/// A committee of `n` SM2 keys: the signing schemes (in committee order), a verifier, and the
/// keys.
struct Committee {
    keys: Vec<PrivateKey>,
    participants: Set<PublicKey>,
    schemes: Vec<Scheme>,
    verifier: Scheme,
}

fn committee(seed: u64, namespace: &[u8], n: usize) -> Committee {
    let mut rng = TestRng::new(seed);
    let mut keys: Vec<PrivateKey> = (0..n).map(|_| PrivateKey::random(&mut rng)).collect();
    keys.sort_by_key(|key| key.public_key());
    let participants = Set::try_from(keys.iter().map(|k| k.public_key()).collect::<Vec<_>>())
        .expect("distinct keys");
    let schemes = keys
        .iter()
        .map(|key| Scheme::signer(namespace, participants.clone(), key.clone()).unwrap())
        .collect();
    let verifier = Scheme::verifier(namespace, participants.clone());
    Committee {
        keys,
        participants,
        schemes,
        verifier,
    }
}

fn proposal(view: u64) -> Proposal<D> {
    Proposal::new(
        Round::new(Epoch::new(3), View::new(view)),
        View::new(view - 1),
        Sha256Digest([view as u8; 32]),
    )
}

fn attestations(
    committee: &Committee,
    signers: &[usize],
    subject: Subject<'_, D>,
) -> Vec<Attestation<Scheme>> {
    signers
        .iter()
        .map(|&i| committee.schemes[i].sign::<D>(subject).unwrap())
        .collect()
}

fn assemble(
    scheme: &Scheme,
    attestations: Vec<Attestation<Scheme>>,
) -> Result<Certificate, AssemblyError> {
    scheme.assemble(
        NonEmpty::try_new(attestations.into_iter()).unwrap(),
        &Sequential,
    )
}

fn verify(scheme: &Scheme, subject: Subject<'_, D>, certificate: &Certificate) -> bool {
    scheme.verify_certificate::<_, D>(&mut test_rng(), subject, certificate, &Sequential)
}

#[test]
fn scheme_properties() {
    assert!(Scheme::is_attributable());
    assert!(!Scheme::is_batchable());

    let c = committee(1, NAMESPACE, 4);
    for (i, scheme) in c.schemes.iter().enumerate() {
        assert_eq!(
            scheme.me(),
            Some(Membership::Signer(Participant::new(i as u32)))
        );
        assert_eq!(scheme.participants(), &c.participants);
    }
    assert_eq!(c.verifier.me(), None);
    let p = proposal(1);
    assert!(
        c.verifier
            .sign::<D>(Subject::Finalize { proposal: &p })
            .is_none()
    );

    let member =
        Scheme::member(NAMESPACE, c.participants.clone(), &c.keys[2].public_key()).unwrap();
    assert_eq!(member.me(), Some(Membership::Member(Participant::new(2))));
    assert!(
        member
            .sign::<D>(Subject::Finalize { proposal: &p })
            .is_none()
    );

    let outsider = PrivateKey::from_seed(999);
    assert!(Scheme::signer(NAMESPACE, c.participants.clone(), outsider.clone()).is_none());
    assert!(Scheme::member(NAMESPACE, c.participants.clone(), &outsider.public_key()).is_none());
}

#[test]
fn attestations_verify_for_their_subject_only() {
    let c = committee(2, NAMESPACE, 4);
    let p = proposal(5);
    let other = proposal(6);
    let round = p.round;
    let subjects = [
        Subject::Notarize { proposal: &p },
        Subject::Nullify { round },
        Subject::Finalize { proposal: &p },
    ];
    for (i, subject) in subjects.iter().enumerate() {
        let attestation = c.schemes[1].sign::<D>(*subject).unwrap();
        assert_eq!(attestation.signer, Participant::new(1));
        assert!(c.verifier.verify_attestation::<_, D>(
            &mut test_rng(),
            *subject,
            &attestation,
            &Sequential
        ));
        for (j, wrong) in subjects.iter().enumerate() {
            if i != j {
                assert!(!c.verifier.verify_attestation::<_, D>(
                    &mut test_rng(),
                    *wrong,
                    &attestation,
                    &Sequential
                ));
            }
        }
        let moved = Subject::Finalize { proposal: &other };
        assert!(!c.verifier.verify_attestation::<_, D>(
            &mut test_rng(),
            moved,
            &attestation,
            &Sequential
        ));

        // Claimed by another signer, or by an index outside the committee, it fails.
        for signer in [0, 2, 3, 4, 1000] {
            let forged = Attestation::<Scheme> {
                signer: Participant::new(signer),
                signature: attestation.signature.clone(),
            };
            assert!(!c.verifier.verify_attestation::<_, D>(
                &mut test_rng(),
                *subject,
                &forged,
                &Sequential
            ));
        }
    }

    // Another base namespace is another chain.
    let elsewhere = Scheme::verifier(b"kexin/other", c.participants.clone());
    let attestation = c.schemes[0].sign::<D>(subjects[2]).unwrap();
    assert!(!elsewhere.verify_attestation::<_, D>(
        &mut test_rng(),
        subjects[2],
        &attestation,
        &Sequential
    ));
}

#[test]
fn assemble_needs_a_quorum() {
    for (n, quorum) in [(4, 3), (7, 5), (10, 7)] {
        let c = committee(n as u64, NAMESPACE, n);
        let p = proposal(2);
        let subject = Subject::Finalize { proposal: &p };
        let all: Vec<usize> = (0..n).collect();

        for count in 1..quorum {
            let result = assemble(&c.verifier, attestations(&c, &all[..count], subject));
            assert_eq!(
                result,
                Err(AssemblyError::InsufficientAttestations(
                    quorum as u32,
                    count as u32
                )),
                "n = {n}"
            );
        }
        for count in quorum..=n {
            let certificate =
                assemble(&c.verifier, attestations(&c, &all[..count], subject)).unwrap();
            assert_eq!(certificate.signers.count(), count);
            assert!(
                verify(&c.verifier, subject, &certificate),
                "n = {n}, {count} signers"
            );
            for scheme in &c.schemes {
                assert!(verify(scheme, subject, &certificate));
            }
        }
    }
}

#[test]
fn assemble_sorts_and_refuses_unknown_or_duplicate_signers() {
    let c = committee(4, NAMESPACE, 4);
    let p = proposal(2);
    let subject = Subject::Finalize { proposal: &p };

    // Order of arrival does not matter: the certificate is sorted by signer.
    let sorted = assemble(&c.verifier, attestations(&c, &[0, 1, 3], subject)).unwrap();
    let shuffled = assemble(&c.verifier, attestations(&c, &[3, 0, 1], subject)).unwrap();
    assert_eq!(sorted, shuffled);
    assert_eq!(sorted.encode(), shuffled.encode());
    let signers: Vec<u32> = sorted.entries().map(|(signer, _)| signer.get()).collect();
    assert_eq!(signers, [0, 1, 3]);

    // A duplicate signer is refused, even when the duplicate would complete the quorum.
    let mut duplicated = attestations(&c, &[0, 1], subject);
    duplicated.push(duplicated[1].clone());
    assert_eq!(
        assemble(&c.verifier, duplicated),
        Err(AssemblyError::DuplicateSigner(Participant::new(1)))
    );

    // An index outside the committee is refused.
    let mut unknown = attestations(&c, &[0, 1, 2], subject);
    unknown[2].signer = Participant::new(4);
    assert_eq!(
        assemble(&c.verifier, unknown),
        Err(AssemblyError::UnknownSigner(Participant::new(4)))
    );

    // The bitmap behind the certificate cannot hold a signer twice either.
    assert_eq!(
        Signers::new(4, [Participant::new(2), Participant::new(2)]),
        Err(AssemblyError::DuplicateSigner(Participant::new(2)))
    );
}

#[test]
fn forged_or_tampered_certificates_fail() {
    let c = committee(5, NAMESPACE, 4);
    let p = proposal(9);
    let subject = Subject::Finalize { proposal: &p };

    // A non-participant signs in participant 2's place: assembly takes it (it does not verify),
    // the certificate does not verify, and the vote is flagged.
    let outsider = committee(6, NAMESPACE, 1);
    let mut forged = outsider.schemes[0].sign::<D>(subject).unwrap();
    forged.signer = Participant::new(2);
    assert!(
        !c.verifier
            .verify_attestation::<_, D>(&mut test_rng(), subject, &forged, &Sequential)
    );
    let mut votes = attestations(&c, &[0, 1], subject);
    votes.push(forged.clone());
    let certificate = assemble(&c.verifier, votes.clone()).unwrap();
    assert!(!verify(&c.verifier, subject, &certificate));
    let verification =
        c.verifier
            .verify_attestations::<_, D, _>(&mut test_rng(), subject, votes, &Sequential);
    assert_eq!(verification.verified.len(), 2);
    assert_eq!(verification.invalid, [Participant::new(2)]);

    // Any change to a good certificate's signatures: either it no longer decodes or it fails.
    let good = assemble(&c.verifier, attestations(&c, &[0, 2, 3], subject)).unwrap();
    assert!(verify(&c.verifier, subject, &good));
    let bytes = good.encode().to_vec();
    let signatures_start = bytes.len() - 3 * SIGNATURE_LENGTH;
    for i in signatures_start..bytes.len() {
        let mut tampered = bytes.clone();
        tampered[i] ^= 0x01;
        if let Ok(tampered) = Certificate::decode_cfg(Copying(tampered.as_slice()), &4) {
            assert!(!verify(&c.verifier, subject, &tampered), "byte {i}");
        }
    }

    // Signatures moved to other signers fail.
    let mut swapped = good.clone();
    swapped.signatures.swap(0, 1);
    assert!(!verify(&c.verifier, subject, &swapped));
    let mut relabelled = good.clone();
    relabelled.signers = Signers::new(4, [0, 1, 3].map(Participant::new)).unwrap();
    assert!(!verify(&c.verifier, subject, &relabelled));

    // A good certificate for another subject fails.
    let other = proposal(10);
    assert!(!verify(
        &c.verifier,
        Subject::Finalize { proposal: &other },
        &good
    ));
    assert!(!verify(
        &c.verifier,
        Subject::Notarize { proposal: &p },
        &good
    ));

    // Too few signatures, a bitmap for another committee size, and mismatched counts fail.
    let mut short = good.clone();
    short.signers = Signers::new(4, [0, 2].map(Participant::new)).unwrap();
    short.signatures.pop();
    assert!(!verify(&c.verifier, subject, &short));
    let mut wide = good.clone();
    wide.signers = Signers::new(5, [0, 2, 3].map(Participant::new)).unwrap();
    assert!(!verify(&c.verifier, subject, &wide));
    let mut missing = good.clone();
    missing.signatures.pop();
    assert!(!verify(&c.verifier, subject, &missing));
}

#[test]
fn certificate_decoding_is_strict() {
    let c = committee(7, NAMESPACE, 4);
    let p = proposal(4);
    let subject = Subject::Finalize { proposal: &p };
    let good = assemble(&c.verifier, attestations(&c, &[0, 1, 3], subject)).unwrap();
    let bytes = good.encode().to_vec();

    // The documented layout: u64 length, bitmap, varint count, signatures.
    assert_eq!(&bytes[..8], &[0, 0, 0, 0, 0, 0, 0, 4]);
    assert_eq!(bytes[8], 0b0000_1011);
    assert_eq!(bytes[9], 3);
    assert_eq!(bytes.len(), 10 + 3 * SIGNATURE_LENGTH);
    for (j, (_, signature)) in good.entries().enumerate() {
        assert_eq!(&bytes[10 + 64 * j..10 + 64 * (j + 1)], signature.as_bytes());
    }

    let decode = |bytes: &[u8], max: usize| Certificate::decode_cfg(Copying(bytes), &max);
    assert_eq!(decode(&bytes, 4).unwrap(), good);
    assert_eq!(
        decode(&bytes, Scheme::certificate_codec_config_unbounded()).unwrap(),
        good
    );
    assert_eq!(c.verifier.certificate_codec_config(), 4);

    // A bitmap longer than the configured committee bound.
    assert!(decode(&bytes, 3).is_err());
    // Truncated anywhere, or followed by anything.
    for len in 0..bytes.len() {
        assert!(decode(&bytes[..len], 4).is_err(), "truncated at {len}");
    }
    let mut trailing = bytes.clone();
    trailing.push(0);
    assert!(decode(&trailing, 4).is_err());
    // A set bit beyond the bitmap's length (participant 4 of 4).
    let mut beyond = bytes.clone();
    beyond[8] |= 0b0001_0000;
    assert!(decode(&beyond, 8).is_err());
    // More or fewer signatures than signers.
    let mut extra = bytes.clone();
    extra[9] = 4;
    extra.extend_from_slice(good.signatures[0].as_bytes());
    assert!(decode(&extra, 4).is_err());
    let mut fewer = bytes[..bytes.len() - SIGNATURE_LENGTH].to_vec();
    fewer[9] = 2;
    assert!(decode(&fewer, 4).is_err());
    // No signers at all.
    let empty = Certificate {
        signers: Signers::new(4, []).unwrap(),
        signatures: vec![],
    };
    assert!(decode(&empty.encode(), 4).is_err());
    // A non-canonical signature inside: s = n.
    let mut high_s = bytes.clone();
    high_s[10 + 32..10 + 64].copy_from_slice(&ORDER);
    assert!(decode(&high_s, 4).is_err());
}

#[test]
fn max_certificate_size_bounds_every_certificate() {
    for n in [1usize, 4, 7, 30] {
        let c = committee(n as u64 + 100, NAMESPACE, n);
        let p = proposal(8);
        let subject = Subject::Finalize { proposal: &p };
        let all: Vec<usize> = (0..n).collect();
        let certificate = assemble(&c.verifier, attestations(&c, &all, subject)).unwrap();
        assert!(verify(&c.verifier, subject, &certificate));
        let max = Scheme::max_certificate_size(n as u32);
        assert!(certificate.encode().len() <= max, "n = {n}");
        // Exactly: u64 length + bitmap bytes + one-byte varint count + signatures, plus the
        // widest (5-byte) count varint.
        assert_eq!(max, 8 + n.div_ceil(8) + 5 + 64 * n);

        let finalization = Finalization::<Scheme, D> {
            proposal: p.clone(),
            certificate,
        };
        assert!(
            finalization.encode().len() <= Finalization::<Scheme, D>::max_encode_size(n as u32)
        );
        assert!(simplex::max_payload_size::<Scheme, D>(n as u32) >= finalization.encode().len());
    }
}

fn finalize_pairs<'a>(
    proposals: &'a [Proposal<D>],
    certificates: &'a [Certificate],
) -> Vec<(Subject<'a, D>, &'a Certificate)> {
    proposals
        .iter()
        .zip(certificates)
        .map(|(p, certificate)| (Subject::Finalize { proposal: p }, certificate))
        .collect()
}

#[test]
fn verify_certificates_checks_every_one() {
    let c = committee(8, NAMESPACE, 7);
    let proposals: Vec<Proposal<D>> = (1..=4).map(proposal).collect();
    let certificates: Vec<Certificate> = proposals
        .iter()
        .map(|p| {
            let subject = Subject::Finalize { proposal: p };
            assemble(&c.verifier, attestations(&c, &[0, 2, 3, 5, 6], subject)).unwrap()
        })
        .collect();
    let pairs = |certificates| finalize_pairs(&proposals, certificates);
    let verify_all = |pairs: Vec<(Subject<'_, D>, &Certificate)>| {
        c.verifier.verify_certificates::<_, D, _>(
            &mut test_rng(),
            NonEmpty::try_new(pairs.into_iter()).unwrap(),
            &Sequential,
        )
    };

    assert!(verify_all(pairs(&certificates)));
    let bisect = |pairs: &[(Subject<'_, D>, &Certificate)]| {
        c.verifier
            .verify_certificates_bisect::<_, D>(&mut test_rng(), pairs, &Sequential)
    };
    assert_eq!(bisect(&pairs(&certificates)), [true; 4]);

    // Swap two certificates: each is good, but not for the other's subject.
    let mut mixed = certificates.clone();
    mixed.swap(1, 2);
    assert!(!verify_all(pairs(&mixed)));
    assert_eq!(bisect(&pairs(&mixed)), [true, false, false, true]);

    // One certificate with a forged signature, last in line.
    let mut forged = certificates.clone();
    forged[3].signatures[0] = c.keys[0].sign(b"elsewhere", b"anything");
    assert!(!verify_all(pairs(&forged)));
    assert_eq!(bisect(&pairs(&forged)), [true, true, true, false]);
}

#[test]
fn optimistic_assemble_reports_bad_votes() {
    let c = committee(9, NAMESPACE, 4);
    let p = proposal(3);
    let subject = Subject::Finalize { proposal: &p };

    let good = attestations(&c, &[0, 1, 2], subject);
    let Ok(certificate) = c.verifier.optimistic_assemble::<_, D, _, _>(
        &mut test_rng(),
        subject,
        good.clone(),
        [],
        &Sequential,
    ) else {
        panic!("a verified quorum assembles");
    };
    assert!(verify(&c.verifier, subject, &certificate));

    // Some already verified, the rest pending.
    let Ok(certificate) = c.verifier.optimistic_assemble::<_, D, _, _>(
        &mut test_rng(),
        subject,
        good[2..].to_vec(),
        &good[..2],
        &Sequential,
    ) else {
        panic!("a verified quorum assembles");
    };
    assert!(verify(&c.verifier, subject, &certificate));

    // A pending vote for another proposal is reported, even though the rest would certify.
    let other = proposal(4);
    let mut pending = attestations(&c, &[0, 1, 2], subject);
    pending.push(
        c.schemes[3]
            .sign::<D>(Subject::Finalize { proposal: &other })
            .unwrap(),
    );
    let Err(verification) = c.verifier.optimistic_assemble::<_, D, _, _>(
        &mut test_rng(),
        subject,
        pending,
        [],
        &Sequential,
    ) else {
        panic!("a bad vote must be reported");
    };
    assert_eq!(verification.invalid, [Participant::new(3)]);
    assert_eq!(verification.verified.len(), 3);
}

// ---------------------------------------------------------------------------------------------
// The documented byte layout (what an offline receipt verifier implements)
// ---------------------------------------------------------------------------------------------

#[test]
fn documented_finalize_message_is_what_simplex_signs() {
    // The example in the `scheme::sm2` docs.
    let p = Proposal::new(
        Round::new(Epoch::new(0), View::new(300)),
        View::new(299),
        Sha256Digest([0x11; 32]),
    );
    let msg = p.encode().to_vec();
    assert_eq!(hex(&msg), format!("00ac02ab02{}", "11".repeat(32)));
    let namespace = Namespace::new(b"kexin/chain-1");
    assert_eq!(namespace.finalize, b"kexin/chain-1_FINALIZE");
    assert_eq!(namespace.notarize, b"kexin/chain-1_NOTARIZE");
    assert_eq!(namespace.nullify, b"kexin/chain-1_NULLIFY");

    let mut m = vec![0x16];
    m.extend_from_slice(b"kexin/chain-1_FINALIZE");
    m.extend_from_slice(&msg);

    // A finalize vote from the scheme verifies as plain SM2 over M.
    let c = committee(10, b"kexin/chain-1", 4);
    let vote = c.schemes[1]
        .sign::<D>(Subject::Finalize { proposal: &p })
        .unwrap();
    let signature = *vote.signature.get().unwrap();
    let key = kexin_crypto::PublicKey::from(c.keys[1].public_key());
    assert_eq!(key.verify_raw(&m, &signature.into()), Ok(()));

    // Notarize: same message, its own namespace. Nullify: the round only.
    let vote = c.schemes[1]
        .sign::<D>(Subject::Notarize { proposal: &p })
        .unwrap();
    let mut m = vec![0x16];
    m.extend_from_slice(b"kexin/chain-1_NOTARIZE");
    m.extend_from_slice(&msg);
    assert_eq!(
        key.verify_raw(&m, &(*vote.signature.get().unwrap()).into()),
        Ok(())
    );
    let vote = c.schemes[1]
        .sign::<D>(Subject::Nullify { round: p.round })
        .unwrap();
    let mut m = vec![0x15];
    m.extend_from_slice(b"kexin/chain-1_NULLIFY");
    m.extend_from_slice(&[0x00, 0xAC, 0x02]);
    assert_eq!(
        key.verify_raw(&m, &(*vote.signature.get().unwrap()).into()),
        Ok(())
    );
}

/// Parses an encoded finalization exactly as the module docs describe, with no commonware code,
/// and checks every signature with kexin-crypto alone.
#[test]
fn documented_finalization_layout_verifies_offline() {
    let base = b"kexin/chain-1";
    let n = 7;
    let c = committee(11, base, n);
    let p = Proposal::new(
        Round::new(Epoch::new(2), View::new(1000)),
        View::new(998),
        Sha256Digest([0x5A; 32]),
    );
    let subject = Subject::Finalize { proposal: &p };
    let certificate = assemble(&c.verifier, attestations(&c, &[6, 0, 3, 4, 5], subject)).unwrap();
    let finalization = Finalization::<Scheme, D> {
        proposal: p.clone(),
        certificate,
    };
    let bytes = finalization.encode().to_vec();

    // Proposal: varint epoch, varint view, varint parent, 32-byte payload.
    let proposal_bytes = [&[0x02, 0xE8, 0x07, 0xE6, 0x07][..], &[0x5A; 32]].concat();
    assert_eq!(&bytes[..proposal_bytes.len()], proposal_bytes.as_slice());
    let rest = &bytes[proposal_bytes.len()..];

    // Bitmap.
    let bits = u64::from_be_bytes(rest[..8].try_into().unwrap());
    assert_eq!(bits, n as u64);
    let bitmap = &rest[8..8 + n.div_ceil(8)];
    let signers: Vec<usize> = (0..n)
        .filter(|i| bitmap[i / 8] & (1 << (i % 8)) != 0)
        .collect();
    assert_eq!(signers, [0, 3, 4, 5, 6]);
    let rest = &rest[8 + n.div_ceil(8)..];
    assert_eq!(rest[0] as usize, signers.len());
    let rest = &rest[1..];
    assert_eq!(rest.len(), 64 * signers.len());

    // M = varint(len) ‖ N ‖ "_FINALIZE" ‖ proposal bytes.
    let mut m = vec![(base.len() + 9) as u8];
    m.extend_from_slice(base);
    m.extend_from_slice(b"_FINALIZE");
    m.extend_from_slice(&proposal_bytes);

    // Committee order is byte order of the compressed keys.
    let mut committee_keys: Vec<[u8; 33]> =
        c.keys.iter().map(|k| *k.public_key().as_bytes()).collect();
    committee_keys.sort();
    for (j, &signer) in signers.iter().enumerate() {
        let key = kexin_crypto::PublicKey::from_bytes(Suite::Gm, &committee_keys[signer]).unwrap();
        let signature = kexin_crypto::Signature(rest[64 * j..64 * (j + 1)].try_into().unwrap());
        assert_eq!(key.verify_raw(&m, &signature), Ok(()), "signer {signer}");
    }
    assert!(signers.len() >= n - (n - 1) / 3);

    // And commonware decodes the same bytes back to the same finalization.
    let decoded = Finalization::<Scheme, D>::decode_cfg(Copying(bytes.as_slice()), &n).unwrap();
    assert_eq!(decoded, finalization);
}

// ---------------------------------------------------------------------------------------------
// p2p identity
// ---------------------------------------------------------------------------------------------

/// The handshake commonware's lookup network is configured with, for an SM2 identity.
type Sm2Handshake = Cups<Sake<PrivateKey>, ChaCha20Poly1305>;

fn sm2_handshake(key: PrivateKey) -> Sm2Handshake {
    Cups::new(
        Sake {
            signer: key,
            synchrony_bound: Duration::from_secs(5),
            max_handshake_age: Duration::from_secs(10),
            version: sake::Version::V1,
        },
        cups::Version::V1,
    )
}

/// Compile-time: an SM2 key authenticates lookup connections, identified by its SM2 public key.
const _: fn(PrivateKey) -> lookup::Config<Sm2Handshake> = |key| {
    lookup::Config::local(
        sm2_handshake(key),
        b"kexin",
        SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
        NZUsize!(4),
        1024,
        NZUsize!(16),
    )
};

fn assert_identity<U: Upgrader<PublicKey = PublicKey>>(_: &U) {}

/// Three nodes with SM2 identities find each other over `authenticated::lookup` on the
/// deterministic runtime and each receives every other's public key, sent over the encrypted
/// stream that the SM2-signed handshake set up.
#[test]
fn lookup_network_with_sm2_identities() {
    const N: usize = 3;
    let executor = deterministic::Runner::new(
        deterministic::Config::new()
            .with_seed(1)
            .with_timeout(Some(Duration::from_secs(120))),
    );
    executor.start(|context| async move {
        let nodes: Vec<(PrivateKey, SocketAddr)> = (0..N)
            .map(|i| {
                let address = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 4000 + i as u16);
                (PrivateKey::from_seed(100 + i as u64), address)
            })
            .collect();
        let peers: Map<PublicKey, Address> = Map::try_from(
            nodes
                .iter()
                .map(|(key, address)| (key.public_key(), Address::from(*address)))
                .collect::<Vec<_>>(),
        )
        .unwrap();

        let mut receivers = Vec::new();
        let mut senders = Vec::new();
        for (i, (key, address)) in nodes.iter().enumerate() {
            let handshake = sm2_handshake(key.clone());
            assert_identity(&handshake);
            assert_eq!(handshake.public_key(), key.public_key());
            let context = context.child("peer").with_attribute("index", i);
            let config = lookup::Config::local(
                handshake,
                b"kexin/p2p-test",
                *address,
                NZUsize!(N),
                1024,
                NZUsize!(1024),
            );
            let (mut network, mut oracle) = lookup::Network::new(context.child("network"), config);
            oracle.track(0, peers.clone());
            let (sender, receiver) = network.register(0, Quota::per_second(NZU32!(100)));
            network.start();
            senders.push((key.public_key(), sender));
            receivers.push(receiver);
        }

        // Keep sending until every node reached every other (connections come up over time).
        for (public, mut sender) in senders {
            context.child("sender").spawn(move |context| async move {
                loop {
                    let sent = sender.send(Recipients::All, public.as_ref().to_vec(), true);
                    if sent.len() == N - 1 {
                        break;
                    }
                    commonware_runtime::Clock::sleep(&context, Duration::from_millis(100)).await;
                }
            });
        }
        for (i, mut receiver) in receivers.into_iter().enumerate() {
            let mut heard = std::collections::BTreeSet::new();
            while heard.len() < N - 1 {
                let (from, message) = receiver.recv().await.unwrap();
                assert_eq!(message.as_ref(), from.as_ref(), "node {i}");
                assert_ne!(from, nodes[i].0.public_key());
                heard.insert(from);
            }
        }
    });
}

// ---------------------------------------------------------------------------------------------
// Simplex end to end
// ---------------------------------------------------------------------------------------------

const TEST_QUOTA: Quota = Quota::per_second(NZU32!(1_024));

/// Four validators with SM2 keys run simplex over a simulated network with latency until each
/// has seen `required` views; every validator must then have finalized the same payload at
/// every view, each finalization certificate must verify for an outside verifier, and nobody
/// may have seen a fault or an invalid signature.
fn simplex_all_online(seed: u64) {
    let n = 4usize;
    let required = View::new(50);
    let view_retention = ViewDelta::new(10);
    let namespace = b"kexin/e2e".to_vec();
    let epoch = Epoch::new(7);
    let executor = deterministic::Runner::new(
        deterministic::Config::new()
            .with_seed(seed)
            .with_timeout(Some(Duration::from_secs(600))),
    );
    executor.start(|mut context| async move {
        // The committee, from the seeded runtime.
        let mut keys: Vec<PrivateKey> = (0..n).map(|_| PrivateKey::random(&mut context)).collect();
        keys.sort_by_key(|key| key.public_key());
        let participants: Vec<PublicKey> = keys.iter().map(|key| key.public_key()).collect();
        let set = Set::try_from(participants.clone()).unwrap();
        let verifier = Scheme::verifier(&namespace, set.clone());

        let (network, oracle) = Network::new_with_peers(
            context.child("network"),
            simulated::Config {
                max_size: max_message_size(&[simplex::max_payload_size::<Scheme, D>(n as u32)]),
                max_peers_per_set: NZUsize!(n),
                disconnect_on_block: true,
                tracked_peer_sets: NZUsize!(1),
            },
            participants.clone(),
        )
        .await;
        network.start();
        let link = Link {
            latency: Duration::from_millis(50),
            jitter: Duration::from_millis(5),
            success_rate: probability!(1.0),
        };
        for a in &participants {
            for b in &participants {
                if a != b {
                    oracle.add_link(*a, *b, link.clone()).await.unwrap();
                }
            }
        }

        let relay = std::sync::Arc::new(mocks::relay::Relay::<D, PublicKey>::new());
        let elector = RoundRobin::<Sha256>::default();
        let mut reporters = Vec::new();
        let mut validators = Vec::new();
        for (key, validator) in keys.iter().zip(&participants) {
            let context = context
                .child("validator")
                .with_attribute("public_key", validator);
            let control = oracle.control(*validator);
            let votes = control.register(0, TEST_QUOTA).await.unwrap();
            let certificates = control.register(1, TEST_QUOTA).await.unwrap();
            let resolver = control.register(2, TEST_QUOTA).await.unwrap();

            let scheme = Scheme::signer(&namespace, set.clone(), key.clone()).unwrap();
            let reporter = mocks::reporter::Reporter::new(
                context.child("reporter"),
                mocks::reporter::Config {
                    participants: set.clone(),
                    scheme: scheme.clone(),
                    elector: elector.clone(),
                },
            );
            reporters.push(reporter.clone());
            let (actor, application) = mocks::application::Application::new(
                context.child("application"),
                mocks::application::Config::<Sha256, _> {
                    relay: relay.clone(),
                    me: *validator,
                    propose_latency: (10.0, 5.0),
                    verify_latency: (10.0, 5.0),
                    certify_latency: (10.0, 5.0),
                    should_certify: mocks::application::Certifier::Always,
                },
            );
            let engine = Engine::new(
                context.child("engine"),
                simplex::Config {
                    scheme,
                    elector: elector.clone(),
                    blocker: control,
                    automaton: application.clone(),
                    relay: application,
                    reporter,
                    strategy: Sequential,
                    partition: validator.to_string(),
                    mailbox_size: NZUsize!(1024),
                    epoch,
                    floor: simplex::Floor::Genesis(mocks::application::genesis::<Sha256>(epoch)),
                    leader_timeout: Duration::from_secs(2),
                    certification_timeout: Duration::from_secs(3),
                    timeout_retry: Duration::from_secs(10),
                    fetch_timeout: NZDuration!(Duration::from_secs(1)),
                    fetch_retry_delay: Duration::from_millis(100),
                    view_retention,
                    skip: SkipPolicy::Enabled {
                        timeout: Duration::from_secs(12),
                        budget: SkipBudget::Participants,
                    },
                    replay_buffer: NZUsize!(1024 * 1024),
                    write_buffer: NZUsize!(1024 * 1024),
                    page_cache: CacheRef::new(NZU16!(1024), NZUsize!(10)),
                    forward: ForwardPolicy::Disabled,
                    track_historical_votes: false,
                },
            );
            validators.push((actor, engine, (votes, certificates, resolver)));
        }
        // Start only once every application is on the relay, so the first leader's block reaches
        // everyone.
        for (actor, engine, (votes, certificates, resolver)) in validators {
            actor.start();
            engine.start(votes, certificates, resolver);
        }

        // Wait until every validator has seen `required` views.
        for reporter in reporters.iter_mut() {
            let (mut latest, mut monitor) = reporter.subscribe().await;
            while latest < required {
                latest = monitor.recv().await.expect("reporter closed");
            }
        }

        let complete = required.saturating_sub(view_retention);
        let mut finalized: Vec<(View, D)> = Vec::new();
        for (i, reporter) in reporters.iter().enumerate() {
            reporter.assert_no_faults();
            reporter.assert_no_invalid();
            let finalizations = reporter.finalizations.lock();
            let mut mine: Vec<(View, D)> = Vec::new();
            for view in View::range(View::new(1), complete) {
                let (finalization, _) = finalizations
                    .get(&view)
                    .unwrap_or_else(|| panic!("validator {i} has no finalization at view {view}"));
                assert!(verifier.verify_certificate::<_, D>(
                    &mut test_rng(),
                    Subject::Finalize {
                        proposal: &finalization.proposal
                    },
                    &finalization.certificate,
                    &Sequential,
                ));
                // The wire form decodes under the committee bound.
                let bytes = finalization.encode();
                assert_eq!(
                    &Finalization::<Scheme, D>::decode_cfg(bytes, &n).unwrap(),
                    finalization
                );
                mine.push((view, finalization.proposal.payload));
            }
            if i == 0 {
                finalized = mine;
            } else {
                assert_eq!(mine, finalized, "validator {i} finalized other blocks");
            }
        }
        assert!(!finalized.is_empty());
        assert!(oracle.blocked().await.unwrap().is_empty());
    });
}

#[test]
fn simplex_finalizes_with_sm2_seed_0() {
    simplex_all_online(0);
}

#[test]
fn simplex_finalizes_with_sm2_seed_1() {
    simplex_all_online(1);
}

#[test]
fn simplex_finalizes_with_sm2_seed_2() {
    simplex_all_online(2);
}
