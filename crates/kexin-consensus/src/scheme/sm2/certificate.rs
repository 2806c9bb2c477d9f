//! The attributable SM2 certificate scheme for simplex: one signature per signer, a bitmap of
//! who signed. The byte layout is specified in the parent module's docs.

use std::collections::BTreeSet;

use bytes::BufMut;
use commonware_codec::{Buf, EncodeSize, Error as CodecError, Read, ReadRangeExt, Write};
use commonware_consensus::simplex::{scheme::Namespace, types::Subject};
use commonware_cryptography::{
    Digest,
    certificate::{
        self, AssemblyError, Attestation, Membership, Signers, Subject as _, Verification,
    },
};
use commonware_parallel::Strategy;
use commonware_utils::{
    N3f1, Participant,
    bitmap::BitMap,
    iter::NonEmpty,
    ordered::{Quorum, Set},
};
use rand::CryptoRng;

use super::{PrivateKey, PublicKey, SIGNATURE_LENGTH, Signature};

/// Name used in codec errors.
const NAME: &str = "kexin_consensus::scheme::sm2::Certificate";

/// A quorum of SM2 signatures over one simplex subject.
///
/// Decoding checks structure only (canonical bitmap, at least one signer, one canonical signature
/// per signer); [`Scheme::verify_certificate`](certificate::Verifier::verify_certificate) checks
/// the committee size, the quorum and every signature.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Certificate {
    /// Who signed: bit `i` is participant `i` of the committee.
    pub signers: Signers,
    /// One signature per signer, by ascending signer index.
    pub signatures: Vec<Signature>,
}

impl Certificate {
    /// `(signer index, signature)` pairs by ascending signer index.
    pub fn entries(&self) -> impl Iterator<Item = (Participant, &Signature)> {
        self.signers.iter().zip(&self.signatures)
    }
}

impl Write for Certificate {
    fn write(&self, buf: &mut impl BufMut) {
        self.signers.write(buf);
        self.signatures.write(buf);
    }
}

impl EncodeSize for Certificate {
    fn encode_size(&self) -> usize {
        self.signers.encode_size() + self.signatures.encode_size()
    }
}

impl Read for Certificate {
    /// The largest committee the certificate may be for.
    type Cfg = usize;

    fn read_cfg(buf: &mut impl Buf, max_participants: &usize) -> Result<Self, CodecError> {
        let signers = Signers::read_cfg(buf, max_participants)?;
        if signers.count() == 0 {
            return Err(CodecError::Invalid(NAME, "no signers"));
        }
        let signatures = Vec::<Signature>::read_range(buf, ..=*max_participants)?;
        if signatures.len() != signers.count() {
            return Err(CodecError::Invalid(
                NAME,
                "signer and signature counts differ",
            ));
        }
        Ok(Self {
            signers,
            signatures,
        })
    }
}

/// The SM2 certificate scheme for simplex, with each participant's SM2 key as both its identity
/// (p2p, committee order) and its signing key.
///
/// Attributable: every certificate names its signers and carries their individual signatures,
/// so votes and certificates can be shown to third parties as evidence. Not batchable: SM2 has
/// no batch verification, so simplex verifies votes as they arrive.
#[derive(Clone, Debug)]
pub struct Scheme {
    /// The committee, ascending by key bytes; a signer index is a position here.
    participants: Set<PublicKey>,
    /// This node's index and key, if it signs.
    signer: Option<(Participant, PrivateKey)>,
    /// This node's index, for a member that does not sign.
    member: Option<Participant>,
    /// The per-vote namespaces derived from the base namespace.
    namespace: Namespace,
}

impl Scheme {
    /// A signing scheme for the holder of `key`, or `None` if `key` is not in `participants`.
    pub fn signer(namespace: &[u8], participants: Set<PublicKey>, key: PrivateKey) -> Option<Self> {
        let public = commonware_cryptography::Signer::public_key(&key);
        let index = participants.index(&public)?;
        Some(Self {
            participants,
            signer: Some((index, key)),
            member: None,
            namespace: <Namespace as certificate::Namespace>::derive(namespace),
        })
    }

    /// A scheme that verifies votes and certificates but cannot sign and is no participant.
    pub fn verifier(namespace: &[u8], participants: Set<PublicKey>) -> Self {
        Self {
            participants,
            signer: None,
            member: None,
            namespace: <Namespace as certificate::Namespace>::derive(namespace),
        }
    }

    /// A verifier that knows it is participant `public_key` (but holds no key to sign with), or
    /// `None` if `public_key` is not in `participants`.
    pub fn member(
        namespace: &[u8],
        participants: Set<PublicKey>,
        public_key: &PublicKey,
    ) -> Option<Self> {
        let index = participants.index(public_key)?;
        Some(Self {
            member: Some(index),
            ..Self::verifier(namespace, participants)
        })
    }

    /// The SM2 message for a subject: commonware's namespaced form, built once per subject.
    fn prepared<D: Digest>(&self, subject: &Subject<'_, D>) -> Vec<u8> {
        commonware_utils::union_unique(subject.namespace(&self.namespace), &subject.message())
    }

    /// Whether `signature` from participant `signer` verifies over the prepared `message`.
    fn verify_one(&self, signer: Participant, message: &[u8], signature: &Signature) -> bool {
        self.participants
            .key(signer)
            .is_some_and(|key| key.verify_prepared(message, signature))
    }

    /// The number of signers a certificate needs.
    fn quorum(&self) -> u32 {
        self.participants.quorum::<N3f1>()
    }
}

impl certificate::Verifier for Scheme {
    type Subject<'a, D: Digest> = Subject<'a, D>;
    type Faults = N3f1;
    type PublicKey = PublicKey;
    type Certificate = Certificate;

    fn verify_certificate<R, D>(
        &self,
        _rng: &mut R,
        subject: Subject<'_, D>,
        certificate: &Certificate,
        _strategy: &impl Strategy,
    ) -> bool
    where
        R: CryptoRng,
        D: Digest,
    {
        let signers = certificate.signers.count();
        let quorum = usize::try_from(self.quorum()).expect("u32 fits in usize");
        if certificate.signers.len() != self.participants.len()
            || certificate.signatures.len() != signers
            || signers < quorum
        {
            return false;
        }
        let message = self.prepared(&subject);
        certificate
            .entries()
            .all(|(signer, signature)| self.verify_one(signer, &message, signature))
    }

    fn is_batchable() -> bool {
        false
    }

    fn max_certificate_size(participants: u32) -> usize {
        // Bitmap (u64 length + one byte per 8 participants), then a u32-varint-prefixed
        // signature per participant.
        let n = usize::try_from(participants).expect("u32 fits in usize");
        BitMap::<1>::max_encode_size(u64::from(participants))
            + commonware_codec::util::max_items_size(n, SIGNATURE_LENGTH)
    }

    fn certificate_codec_config(&self) -> usize {
        self.participants.len()
    }

    fn certificate_codec_config_unbounded() -> usize {
        u32::MAX as usize
    }
}

impl certificate::Scheme for Scheme {
    type Signature = Signature;

    fn me(&self) -> Option<Membership> {
        self.signer
            .as_ref()
            .map(|(index, _)| Membership::Signer(*index))
            .or(self.member.map(Membership::Member))
    }

    fn participants(&self) -> &Set<PublicKey> {
        &self.participants
    }

    fn sign<D: Digest>(&self, subject: Subject<'_, D>) -> Option<Attestation<Self>> {
        let (index, key) = self.signer.as_ref()?;
        Some(Attestation {
            signer: *index,
            signature: key.sign_prepared(&self.prepared(&subject)).into(),
        })
    }

    fn verify_attestation<R, D>(
        &self,
        _rng: &mut R,
        subject: Subject<'_, D>,
        attestation: &Attestation<Self>,
        _strategy: &impl Strategy,
    ) -> bool
    where
        R: CryptoRng,
        D: Digest,
    {
        attestation.signature.get().is_some_and(|signature| {
            self.verify_one(attestation.signer, &self.prepared(&subject), signature)
        })
    }

    fn verify_attestations<R, D, I>(
        &self,
        _rng: &mut R,
        subject: Subject<'_, D>,
        attestations: I,
        _strategy: &impl Strategy,
    ) -> Verification<Self>
    where
        R: CryptoRng,
        D: Digest,
        I: IntoIterator<Item = Attestation<Self>>,
        I::IntoIter: Send,
    {
        let message = self.prepared(&subject);
        let mut verified = Vec::new();
        let mut invalid = BTreeSet::new();
        for attestation in attestations {
            let valid = attestation
                .signature
                .get()
                .is_some_and(|signature| self.verify_one(attestation.signer, &message, signature));
            if valid {
                verified.push(attestation);
            } else {
                invalid.insert(attestation.signer);
            }
        }
        Verification::new(verified, invalid.into_iter().collect())
    }

    fn optimistic_assemble<'a, R, D, I, J>(
        &self,
        rng: &mut R,
        subject: Subject<'_, D>,
        pending: I,
        verified: J,
        strategy: &impl Strategy,
    ) -> Result<Certificate, Verification<Self>>
    where
        R: CryptoRng,
        D: Digest,
        I: IntoIterator<Item = Attestation<Self>>,
        I::IntoIter: ExactSizeIterator + Send,
        J: IntoIterator<Item = &'a Attestation<Self>>,
        J::IntoIter: Send,
    {
        // Without batch verification there is nothing to gain from assembling first and
        // verifying once: check each pending vote, then assemble.
        certificate::verify_then_assemble::<Self, _, D, _, _>(
            self, rng, subject, pending, verified, strategy,
        )
    }

    fn assemble<I>(
        &self,
        attestations: NonEmpty<I>,
        _strategy: &impl Strategy,
    ) -> Result<Certificate, AssemblyError>
    where
        I: Iterator<Item = Attestation<Self>> + Send,
    {
        let mut entries = Vec::new();
        for Attestation { signer, signature } in attestations {
            if self.participants.key(signer).is_none() {
                return Err(AssemblyError::UnknownSigner(signer));
            }
            let signature = *signature
                .get()
                .ok_or(AssemblyError::MalformedSignature(signer))?;
            entries.push((signer, signature));
        }
        entries.sort_by_key(|(signer, _)| *signer);

        let total = u32::try_from(self.participants.len()).expect("committee fits in u32");
        let signers = Signers::new(total, entries.iter().map(|(signer, _)| *signer))?;
        let found = u32::try_from(signers.count()).expect("signers fit in u32");
        let quorum = self.quorum();
        if found < quorum {
            return Err(AssemblyError::InsufficientAttestations(quorum, found));
        }
        Ok(Certificate {
            signers,
            signatures: entries
                .into_iter()
                .map(|(_, signature)| signature)
                .collect(),
        })
    }

    fn is_attributable() -> bool {
        true
    }
}
