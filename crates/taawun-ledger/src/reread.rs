//! Entries read back from a file of envelopes whose signatures the reader checked
//! earlier: the audit's way to read again an entry of the export file it streams once
//! validation asks for one it no longer keeps in memory, without checking the signature
//! a second time (the audit's speed is mostly its signature checks).
//!
//! Only the ledger may rebuild a [`Verified`] without checking its signature
//! ([`taawun_core::entry::TrustedStore`]: one per process, the ledger's); this is the one
//! door it opens for others, and its contract is the caller's: it reads only places where
//! the caller itself found an envelope that verified, in a file nobody writes to
//! meanwhile. Every other read of envelopes goes through [`taawun_core::Unverified`].

use std::fs::File;
use std::os::unix::fs::FileExt;
use taawun_core::{Id, Verified};

/// A file of envelopes the holder verified, read back by place (offset and length).
#[derive(Debug)]
pub struct Reread {
    file: File,
}

impl Reread {
    /// Reads back from `file`. The caller vouches that every place it asks for
    /// ([`Reread::load`]) holds an envelope whose signature it checked there, and that
    /// nobody writes to the file meanwhile (an unnamed temporary file, or an export file
    /// it opened and streamed itself).
    pub fn verified(file: File) -> Self {
        Reread { file }
    }

    /// The entry whose envelope is `len` bytes at `offset`; `None` when it cannot be read
    /// or does not decode.
    pub fn load(&self, offset: u64, len: u32) -> Option<Verified> {
        let mut buf = vec![0u8; len as usize];
        self.file.read_exact_at(&mut buf, offset).ok()?;
        crate::view::trusted(&buf).ok()
    }

    /// [`Reread::load`], and the entry must be `id` (a file changed on disk since it was
    /// verified gives `None`, not another entry).
    pub fn load_id(&self, offset: u64, len: u32, id: &Id) -> Option<Verified> {
        self.load(offset, len).filter(|v| v.id() == *id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use taawun_core::body::{Body, Claim};
    use taawun_core::entry::TrustedStore;
    use taawun_core::writer::Writer;

    #[test]
    fn a_verified_envelope_reads_back_by_place_and_id() {
        let key = ed25519_dalek::SigningKey::from_bytes(&[3; 32]);
        let v = Writer::new(key, Some(Id([1; 32])), None).next(
            Body::Claim(Claim { offer: Id([2; 32]) }),
            1,
            None,
        );
        let env = v.envelope();
        let mut f = tempfile::tempfile().expect("temp file");
        f.write_all(b"head").expect("write");
        f.write_all(&env).expect("write");
        let r = Reread::verified(f);
        let len = u32::try_from(env.len()).expect("small");
        assert_eq!(r.load(4, len), Some(v.clone()));
        assert_eq!(r.load_id(4, len, &v.id()), Some(v));
        assert_eq!(r.load_id(4, len, &Id([9; 32])), None, "another id");
        assert_eq!(r.load(0, len), None, "not an envelope");
        assert_eq!(r.load(4, len + 100), None, "past the end");
    }

    #[test]
    fn the_ledger_holds_the_process_s_trusted_store_token() {
        // The first read claims it; nobody else gets one after.
        let _ = crate::view::trusted(&[]);
        assert!(TrustedStore::claim().is_none());
    }
}
