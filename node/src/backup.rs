//! A paper backup of the member's key: its 32 secret bytes as the 24 words of BIP-39
//! (English list; the last word carries an 8-bit checksum), and back.
//!
//! Words survive where files do not (a phone lost in a camp, a folder nobody copied) and
//! can be written down by hand. The checksum catches a word misread or two words swapped
//! before a wrong key is used. The words are the key itself: no passphrase, no derivation,
//! so the same words always give the same member.

use ed25519_dalek::SigningKey;

/// Words of a backup: 32 bytes of key, 8 bits of checksum, 11 bits a word.
pub(crate) const WORDS: usize = 24;

/// Why words do not give back a key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum BackupError {
    /// Not 24 words.
    #[error("a key backup is {WORDS} words; these are {0}")]
    WordCount(usize),
    /// A word not in the list.
    #[error(
        "word {position} (\"{word}\") is not a backup word: check its spelling against your paper"
    )]
    UnknownWord {
        /// Its position, from 1.
        position: usize,
        /// The word as read.
        word: String,
    },
    /// Every word is a backup word, but they do not check.
    #[error("these words do not check (the checksum in the last word does not match): a word is misread or two are swapped; compare each with your paper")]
    Checksum,
    /// Anything else the word list refuses.
    #[error("these words are not a key backup: {0}")]
    Other(String),
}

/// The 24 words of `key`.
pub(crate) fn to_words(key: &SigningKey) -> Vec<&'static str> {
    let secret = zeroize::Zeroizing::new(key.to_bytes());
    // 32 bytes are always a valid BIP-39 entropy length.
    bip39::Mnemonic::from_entropy(secret.as_slice())
        .map(|m| m.words().collect())
        .unwrap_or_default()
}

/// The key written as `text`: the 24 words in order, separated by spaces or new lines, in
/// any case; numbers before the words (`1.`, `2)`, as [`to_words`] is printed) are skipped.
pub(crate) fn from_words(text: &str) -> Result<SigningKey, BackupError> {
    let words: Vec<String> = text
        .split_whitespace()
        .filter(|w| {
            !w.trim_end_matches(['.', ')', ':'])
                .chars()
                .all(|c| c.is_ascii_digit())
        })
        .map(str::to_lowercase)
        .collect();
    if words.len() != WORDS {
        return Err(BackupError::WordCount(words.len()));
    }
    let m = bip39::Mnemonic::parse_in_normalized(bip39::Language::English, &words.join(" "))
        .map_err(|e| match e {
            bip39::Error::UnknownWord(i) => BackupError::UnknownWord {
                position: i + 1,
                word: words.get(i).cloned().unwrap_or_default(),
            },
            bip39::Error::InvalidChecksum => BackupError::Checksum,
            bip39::Error::BadWordCount(n) => BackupError::WordCount(n),
            other => BackupError::Other(other.to_string()),
        })?;
    let (entropy, len) = m.to_entropy_array();
    let entropy = zeroize::Zeroizing::new(entropy);
    let seed: [u8; 32] = entropy
        .get(..len)
        .and_then(|b| b.try_into().ok())
        .ok_or(BackupError::WordCount(words.len()))?;
    Ok(SigningKey::from_bytes(&seed))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(seed: u8) -> SigningKey {
        SigningKey::from_bytes(&[seed; 32])
    }

    #[test]
    fn words_round_trip_whatever_the_case_and_numbering() {
        for seed in [0u8, 1, 0x5a, 0xff] {
            let k = key(seed);
            let words = to_words(&k);
            assert_eq!(words.len(), WORDS);
            assert_eq!(
                from_words(&words.join(" ")).expect("words").to_bytes(),
                k.to_bytes()
            );
            let numbered: String = words
                .iter()
                .enumerate()
                .map(|(i, w)| format!("{}. {}\n", i + 1, w.to_uppercase()))
                .collect();
            assert_eq!(
                from_words(&numbered).expect("numbered").to_bytes(),
                k.to_bytes()
            );
        }
        // The all-zero key is BIP-39's first test vector: 23 "abandon" and "art".
        let zero = to_words(&key(0));
        assert!(zero[..23].iter().all(|w| *w == "abandon"));
        assert_eq!(zero[23], "art");
    }

    #[test]
    fn a_wrong_word_a_swap_or_a_missing_word_is_refused_with_its_reason() {
        let words = to_words(&key(7));
        let mut typo = words.clone();
        typo[4] = "abandn";
        assert_eq!(
            from_words(&typo.join(" ")),
            Err(BackupError::UnknownWord {
                position: 5,
                word: "abandn".into()
            })
        );
        // Another list word in place of the right one, or two words swapped: the
        // checksum sees it.
        let mut other = words.clone();
        other[3] = if words[3] == "zoo" { "abandon" } else { "zoo" };
        assert_eq!(from_words(&other.join(" ")), Err(BackupError::Checksum));
        let mut swapped = words.clone();
        let i = (0..WORDS - 1)
            .find(|&i| swapped[i] != swapped[i + 1])
            .expect("two different words");
        swapped.swap(i, i + 1);
        assert_eq!(from_words(&swapped.join(" ")), Err(BackupError::Checksum));
        assert_eq!(
            from_words(&words[..23].join(" ")),
            Err(BackupError::WordCount(23))
        );
        assert_eq!(from_words(""), Err(BackupError::WordCount(0)));
    }
}
