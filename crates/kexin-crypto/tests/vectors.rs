//! Published known-answer tests for the primitives behind both suites.
//!
//! Every vector here is copied from its standard and asserted byte for byte:
//!
//! * SM3: GB/T 32905-2016 Appendix A, examples 1 and 2.
//! * SM2: GM/T 0003.5-2012 / GB/T 32918.5-2017 Appendix A, the signature example on the
//!   recommended curve (user id `1234567812345678`, message `"message digest"`).
//! * SM4: GB/T 32907-2016 Appendix A, example 1; SM4-GCM: RFC 8998 Appendix A.1.
//! * Ed25519: RFC 8032 section 7.1, TEST 1, 2 and 3.
//! * SHA-256: FIPS 180-2 "abc"; AES-256-GCM: McGrew–Viega GCM specification, test case 16.

use kexin_crypto::{Domain, PublicKey, Signature, SigningKey, Suite, SymmetricKey};

fn unhex(s: &str) -> Vec<u8> {
    let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    hex::decode(s).expect("test vector hex")
}

fn unhex32(s: &str) -> [u8; 32] {
    unhex(s).try_into().expect("32 bytes")
}

// ---------------------------------------------------------------------------------------------
// SM3 (GB/T 32905-2016 Appendix A)
// ---------------------------------------------------------------------------------------------

#[test]
fn sm3_example_1_abc() {
    let want = "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0";
    assert_eq!(Suite::Gm.hash(b"abc").to_hex(), want);
    // The incremental hasher and hash_parts must agree with the one-shot hash.
    assert_eq!(Suite::Gm.hash_parts(&[b"a", b"", b"bc"]).to_hex(), want);
    let mut h = Suite::Gm.hasher();
    for b in b"abc" {
        h.update(&[*b]);
    }
    assert_eq!(h.finalize().to_hex(), want);
}

#[test]
fn sm3_example_2_abcd_x16() {
    let msg = b"abcd".repeat(16);
    assert_eq!(msg.len(), 64);
    assert_eq!(
        Suite::Gm.hash(&msg).to_hex(),
        "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732"
    );
}

#[test]
fn sha256_fips_180_abc() {
    assert_eq!(
        Suite::Intl.hash(b"abc").to_hex(),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
}

// ---------------------------------------------------------------------------------------------
// SM2 (GM/T 0003.5-2012 / GB/T 32918.5-2017 Appendix A, recommended curve)
// ---------------------------------------------------------------------------------------------
//
// Note on the user id: the often-quoted example with `ALICE123@YAHOO.COM` (GM/T 0003.2-2012 /
// GB/T 32918.2 Appendix A: dA = 128B2FA8..., r = 40F1EC59..., s = 6FC6DAC3...) is worked on the
// 256-bit *test* curve p = 8542D69E..., not on the recommended curve, so no SM2 implementation
// restricted to the recommended curve (including the `sm2` crate) can check it. The example on
// the recommended curve, below, uses the default user id `1234567812345678` (ENTL = 0x0080).

const SM2_D: &str = "3945208F7B2144B13F36E38AC6D39F95889393692860B51A42FB81EF4DF7C5B8";
const SM2_XA: &str = "09F9DF311E5421A150DD7D161E4BC5C672179FAD1833FC076BB08FF356F35020";
const SM2_YA: &str = "CCEA490CE26775A52DC6EA718CC1AA600AED05FBF35E084A6632F6072DA9AD13";
const SM2_ID: &str = "1234567812345678";
const SM2_MSG: &[u8] = b"message digest";
const SM2_ZA: &str = "B2E14C5C79C6DF5B85F4FE7ED8DB7A262B9DA7E07CCB0EA9F4747B8CCDA8A4F3";
const SM2_E: &str = "F0B43E94BA45ACCAACE692ED534382EB17E6AB5A19CE7B31F4486FDFC0D28640";
const SM2_R: &str = "F5A03B0648D2C4630EEAC513E1BB81A15944DA3827D5B74143AC7EACEEE720B3";
const SM2_S: &str = "B1B6AA29DF212FD8763182BC0D421CA1BB9038FD1F7F42D4840B69C485BBC1AA";

// Recommended-curve parameters (GB/T 32918.5 / GM/T 0003.5 section 3), for computing ZA.
const SM2_A: &str = "FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFC";
const SM2_B: &str = "28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93";
const SM2_GX: &str = "32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7";
const SM2_GY: &str = "BC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0";

fn sm2_uncompressed_public() -> Vec<u8> {
    let mut p = vec![0x04];
    p.extend(unhex(SM2_XA));
    p.extend(unhex(SM2_YA));
    p
}

fn sm2_vector_signature() -> sm2::dsa::Signature {
    let mut rs = unhex(SM2_R);
    rs.extend(unhex(SM2_S));
    let rs: [u8; 64] = rs.try_into().unwrap();
    sm2::dsa::Signature::from_bytes(&rs.into()).expect("r and s are in range")
}

#[test]
fn sm2_standard_key_pair() {
    // dA -> PA, through our API (compressed: yA is odd, so the prefix is 03).
    let key = SigningKey::from_seed(Suite::Gm, &unhex32(SM2_D)).unwrap();
    let mut want = vec![0x03];
    want.extend(unhex(SM2_XA));
    assert_eq!(key.public_key().as_bytes(), want.as_slice());

    // And the uncompressed point is exactly (xA, yA).
    let pk = sm2::PublicKey::from_sec1_bytes(key.public_key().as_bytes()).unwrap();
    use sm2::elliptic_curve::sec1::ToSec1Point as _;
    assert_eq!(
        pk.to_sec1_point(false).as_bytes(),
        sm2_uncompressed_public().as_slice()
    );
}

#[test]
fn sm2_standard_za_and_e() {
    // ZA = SM3(ENTL || ID || a || b || xG || yG || xA || yA), e = SM3(ZA || M), computed
    // independently of the `sm2` crate from the published values.
    let entl = ((SM2_ID.len() * 8) as u16).to_be_bytes();
    assert_eq!(entl, [0x00, 0x80]);
    let za = Suite::Gm.hash_parts(&[
        &entl,
        SM2_ID.as_bytes(),
        &unhex(SM2_A),
        &unhex(SM2_B),
        &unhex(SM2_GX),
        &unhex(SM2_GY),
        &unhex(SM2_XA),
        &unhex(SM2_YA),
    ]);
    assert_eq!(za.to_hex(), SM2_ZA.to_lowercase());
    let e = Suite::Gm.hash_parts(&[za.as_bytes(), SM2_MSG]);
    assert_eq!(e.to_hex(), SM2_E.to_lowercase());
}

#[test]
fn sm2_standard_signature_verifies_with_sm2_crate() {
    use sm2::dsa::signature::Verifier as _;
    let sig = sm2_vector_signature();
    let vk = sm2::dsa::VerifyingKey::from_sec1_bytes(SM2_ID, &sm2_uncompressed_public()).unwrap();
    vk.verify(SM2_MSG, &sig)
        .expect("published (r, s) verifies for the published key, id and message");

    // ...and only for that message and that id.
    assert!(vk.verify(b"message digesT", &sig).is_err());
    let alice =
        sm2::dsa::VerifyingKey::from_sec1_bytes("ALICE123@YAHOO.COM", &sm2_uncompressed_public())
            .unwrap();
    assert!(alice.verify(SM2_MSG, &sig).is_err());

    // The prehash the standard calls e verifies through the low-level interface too.
    use sm2::dsa::signature::hazmat::PrehashVerifier as _;
    vk.verify_prehash(&unhex(SM2_E), &sig).unwrap();
}

#[test]
fn sm2_kexin_key_for_standard_d_signs_under_standard_public_key() {
    // Our API always prefixes the domain, so the published signature cannot verify through
    // PublicKey::verify; but our key for dA must produce the same ZA binding, which we show by
    // having our signing key's signatures over "message digest" verify under the published key
    // with the default id in the sm2 crate (the key derivation and distid match the standard).
    use sm2::dsa::signature::Verifier as _;
    let key = SigningKey::from_seed(Suite::Gm, &unhex32(SM2_D)).unwrap();
    let domain = Domain::new("kexin/test", "vectors");
    let sig = key.sign(&domain, SM2_MSG);
    let vk = sm2::dsa::VerifyingKey::from_sec1_bytes(SM2_ID, &sm2_uncompressed_public()).unwrap();
    let raw = sm2::dsa::Signature::from_bytes(&sig.0.into()).unwrap();
    vk.verify(&domain.signing_input(SM2_MSG), &raw).unwrap();
}

#[test]
fn kexin_sm2_verify_uses_default_user_id() {
    use sm2::dsa::signature::Signer as _;
    assert_eq!(kexin_crypto::SM2_DEFAULT_USER_ID, "1234567812345678");

    let seed = [0x42u8; 32];
    let ours = SigningKey::from_seed(Suite::Gm, &seed).unwrap();
    let public = ours.public_key();
    let domain = Domain::new("kexin/tx", "chain-1");
    let msg = b"transfer 10 to bob";
    let input = domain.signing_input(msg);

    // Signed directly with the sm2 crate and distid 1234567812345678: verifies through our API.
    let raw = sm2::dsa::SigningKey::from_slice("1234567812345678", &seed).unwrap();
    let sig: sm2::dsa::Signature = raw.sign(&input);
    let sig = Signature(sig.to_bytes().into());
    public.verify(&domain, msg, &sig).unwrap();

    // Signed with any other distid (including the empty one): refused.
    for other in ["ALICE123@YAHOO.COM", "", "1234567812345677", "kexin"] {
        let raw = sm2::dsa::SigningKey::from_slice(other, &seed).unwrap();
        let sig: sm2::dsa::Signature = raw.sign(&input);
        let sig = Signature(sig.to_bytes().into());
        assert!(
            public.verify(&domain, msg, &sig).is_err(),
            "signature with distid {other:?} must not verify"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// SM4 (GB/T 32907-2016 Appendix A) and SM4-GCM (RFC 8998 Appendix A.1)
// ---------------------------------------------------------------------------------------------

#[test]
fn sm4_example_1_block() {
    use sm4::cipher::{BlockCipherDecrypt as _, BlockCipherEncrypt as _, KeyInit as _};
    let key: [u8; 16] = unhex("0123456789abcdeffedcba9876543210")
        .try_into()
        .unwrap();
    let cipher = sm4::Sm4::new(&key.into());
    let mut block = key.into();
    cipher.encrypt_block(&mut block);
    assert_eq!(block.as_slice(), unhex("681edf34d206965e86b3e94f536e4246"));
    cipher.decrypt_block(&mut block);
    assert_eq!(block.as_slice(), key);
}

#[test]
fn sm4_gcm_rfc8998_a1() {
    let key = SymmetricKey::new(Suite::Gm, &unhex("0123456789ABCDEFFEDCBA9876543210")).unwrap();
    let nonce: [u8; 12] = unhex("00001234567800000000ABCD").try_into().unwrap();
    let aad = unhex("FEEDFACEDEADBEEFFEEDFACEDEADBEEFABADDAD2");
    let pt = unhex(
        "AAAAAAAAAAAAAAAABBBBBBBBBBBBBBBBCCCCCCCCCCCCCCCCDDDDDDDDDDDDDDDD
         EEEEEEEEEEEEEEEEFFFFFFFFFFFFFFFFEEEEEEEEEEEEEEEEAAAAAAAAAAAAAAAA",
    );
    let want = unhex(
        "17F399F08C67D5EE19D0DC9969C4BB7D5FD46FD3756489069157B282BB200735
         D82710CA5C22F0CCFA7CBF93D496AC15A56834CBCF98C397B4024A2691233B8D
         83DE3541E4C2B58177E065A9BF7B62EC",
    );
    assert_eq!(key.seal(&nonce, &aad, &pt), want);
    assert_eq!(key.open(&nonce, &aad, &want).unwrap(), pt);
}

#[test]
fn aes_256_gcm_spec_test_case_16() {
    let key = SymmetricKey::new(
        Suite::Intl,
        &unhex("feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308"),
    )
    .unwrap();
    let nonce: [u8; 12] = unhex("cafebabefacedbaddecaf888").try_into().unwrap();
    let aad = unhex("feedfacedeadbeeffeedfacedeadbeefabaddad2");
    let pt = unhex(
        "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72
         1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
    );
    let want = unhex(
        "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa
         8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662
         76fc6ece0f4e1768cddf8853bb2d551b",
    );
    assert_eq!(key.seal(&nonce, &aad, &pt), want);
    assert_eq!(key.open(&nonce, &aad, &want).unwrap(), pt);
}

// ---------------------------------------------------------------------------------------------
// Ed25519 (RFC 8032 section 7.1)
// ---------------------------------------------------------------------------------------------

struct Ed25519Vector {
    name: &'static str,
    secret: &'static str,
    public: &'static str,
    message: &'static str,
    signature: &'static str,
}

const RFC8032: [Ed25519Vector; 3] = [
    Ed25519Vector {
        name: "TEST 1",
        secret: "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
        public: "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
        message: "",
        signature: "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
    },
    Ed25519Vector {
        name: "TEST 2",
        secret: "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
        public: "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
        message: "72",
        signature: "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
    },
    Ed25519Vector {
        name: "TEST 3",
        secret: "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
        public: "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
        message: "af82",
        signature: "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a",
    },
];

#[test]
fn ed25519_rfc8032_section_7_1() {
    use ed25519_dalek::{Signer as _, Verifier as _};
    for v in &RFC8032 {
        let secret = unhex32(v.secret);
        let message = unhex(v.message);
        let want_sig = unhex(v.signature);

        // Our key from the RFC secret has the RFC public key.
        let ours = SigningKey::from_seed(Suite::Intl, &secret).unwrap();
        assert_eq!(
            ours.public_key().to_hex(),
            v.public,
            "{}: public key",
            v.name
        );
        assert_eq!(
            PublicKey::from_hex(Suite::Intl, v.public).unwrap(),
            ours.public_key(),
            "{}: parse",
            v.name
        );

        // The raw-message signature (our sign() adds the domain prefix, so use dalek directly).
        let dalek = ed25519_dalek::SigningKey::from_bytes(&secret);
        assert_eq!(dalek.verifying_key().to_bytes().to_vec(), unhex(v.public));
        let sig = dalek.sign(&message);
        assert_eq!(sig.to_bytes().to_vec(), want_sig, "{}: signature", v.name);
        let want: [u8; 64] = want_sig.clone().try_into().unwrap();
        let published = ed25519_dalek::Signature::from_bytes(&want);
        dalek.verifying_key().verify(&message, &published).unwrap();
        dalek
            .verifying_key()
            .verify_strict(&message, &published)
            .unwrap();

        // Our signature over the same message with a domain verifies under the RFC public key,
        // and is exactly dalek's signature over the domain signing input (Ed25519 is
        // deterministic), so our sign() really is plain RFC 8032 Ed25519 over that input.
        let domain = Domain::new("kexin/test", "rfc8032");
        let our_sig = ours.sign(&domain, &message);
        assert_eq!(
            our_sig.0,
            dalek.sign(&domain.signing_input(&message)).to_bytes()
        );
        ours.public_key()
            .verify(&domain, &message, &our_sig)
            .unwrap();
        // The published raw-message signature does not verify through our domain-separated API.
        assert!(
            ours.public_key()
                .verify(&domain, &message, &Signature(want))
                .is_err()
        );
    }
}

// ---------------------------------------------------------------------------------------------
// The signing-input layout itself
// ---------------------------------------------------------------------------------------------

#[test]
fn domain_signing_input_layout() {
    let d = Domain::new("kexin/tx", "main");
    let mut want = vec![8u8];
    want.extend_from_slice(b"kexin/tx");
    want.push(4);
    want.extend_from_slice(b"main");
    want.extend_from_slice(b"payload");
    assert_eq!(d.signing_input(b"payload"), want);
    assert_eq!(Domain::new("", "").signing_input(b""), vec![0, 0]);
}
