//! The data folder: where a node keeps its key and its ledger.
//!
//! `--data-dir` wins, then `TAAWUN_DATA_DIR`, then `$XDG_DATA_HOME/taawun`, then
//! `~/.local/share/taawun`. The key is 32 raw bytes in `key`, readable by its owner only
//! (mode 0600); a node refuses a key file that others can read.

use anyhow::{bail, Context, Result};
use ed25519_dalek::SigningKey;
use std::fs;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Name of the key file inside the data folder.
pub(crate) const KEY_FILE: &str = "key";
/// Name of the ledger folder inside the data folder.
pub(crate) const LEDGER_DIR: &str = "ledger";

/// The data folder to use.
pub(crate) fn resolve(flag: Option<PathBuf>) -> Result<PathBuf> {
    if let Some(p) = flag {
        return Ok(p);
    }
    if let Some(p) = std::env::var_os("XDG_DATA_HOME").filter(|p| !p.is_empty()) {
        return Ok(PathBuf::from(p).join("taawun"));
    }
    match std::env::var_os("HOME").filter(|p| !p.is_empty()) {
        Some(home) => Ok(PathBuf::from(home).join(".local/share/taawun")),
        None => bail!("cannot find a data folder: pass --data-dir or set TAAWUN_DATA_DIR"),
    }
}

/// Creates a fresh key in `dir`, refusing to overwrite one.
pub(crate) fn create_key(dir: &Path) -> Result<SigningKey> {
    fs::create_dir_all(dir).with_context(|| format!("creating data folder {}", dir.display()))?;
    let path = dir.join(KEY_FILE);
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| anyhow::anyhow!("no randomness from the OS: {e}"))?;
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .map_err(|e| {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                anyhow::anyhow!(
                    "{} already holds a key; refusing to overwrite it (move it away first if you really mean to replace this identity)",
                    path.display()
                )
            } else {
                anyhow::Error::new(e).context(format!("creating {}", path.display()))
            }
        })?;
    f.write_all(&seed)
        .and_then(|()| f.sync_all())
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(SigningKey::from_bytes(&seed))
}

/// Loads the key of `dir`, refusing one that others can read.
pub(crate) fn load_key(dir: &Path) -> Result<SigningKey> {
    let path = dir.join(KEY_FILE);
    let meta = fs::metadata(&path).with_context(|| {
        format!(
            "no key at {}: create one with `taawun keygen --data-dir {}`",
            path.display(),
            dir.display()
        )
    })?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        bail!(
            "{} is readable by others (mode {mode:o}); fix it with `chmod 600 {}`",
            path.display(),
            path.display()
        );
    }
    let bytes = fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
    let seed: [u8; 32] = bytes.as_slice().try_into().map_err(|_| {
        anyhow::anyhow!(
            "{} is {} bytes, not a 32-byte taawun key",
            path.display(),
            bytes.len()
        )
    })?;
    Ok(SigningKey::from_bytes(&seed))
}
