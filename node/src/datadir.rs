//! The data folder: where a node keeps its key and its ledger.
//!
//! `--data-dir` wins, then `TAAWUN_DATA_DIR`, then `$XDG_DATA_HOME/taawun`, then
//! `~/.local/share/taawun`. The key is 32 raw bytes in `key`, readable by its owner only
//! (mode 0600); a node refuses a key file that others can read. Beside it, `net-key` holds
//! the node's transport key (its libp2p identity, 32 raw bytes, mode 0600), made at the
//! first start: a key of its own, so that a node's peer id names no member.

use anyhow::{bail, Context, Result};
use ed25519_dalek::SigningKey;
use std::fs;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Name of the key file inside the data folder.
pub(crate) const KEY_FILE: &str = "key";
/// Name of the transport key file inside the data folder (see the module documentation).
pub(crate) const NET_KEY_FILE: &str = "net-key";
/// Name of the ledger folder inside the data folder.
pub(crate) const LEDGER_DIR: &str = "ledger";
/// Name of the API token file inside the data folder.
pub(crate) const TOKEN_FILE: &str = "api-token";
/// Name of the results folder inside the data folder.
pub(crate) const RESULTS_DIR: &str = "results";
/// Name of the file where a running daemon writes its API's actual address (useful when
/// the configuration asks for port 0); removed when it stops.
pub(crate) const API_ADDRESS_FILE: &str = "api-address";

/// Name of the folder, inside the data folder, that keeps the lottery secrets of the
/// offers this node posted: one file per offer, named by the offer's commitment (hex),
/// holding the 32-byte secret, readable by its owner only (mode 0600).
pub(crate) const LOTTERY_DIR: &str = "lottery";

/// Draws a fresh lottery secret from the OS's CSPRNG, keeps it in `dir` (synced to disk
/// before the offer that commits to it is written, so a restart can still assign), and
/// returns its commitment.
pub(crate) fn new_lottery_secret(dir: &Path) -> Result<taawun_core::Hash> {
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret).map_err(|e| anyhow::anyhow!("no randomness from the OS: {e}"))?;
    let secret = taawun_core::Hash(secret);
    let commit = taawun_core::lottery::commit(&secret);
    let folder = dir.join(LOTTERY_DIR);
    fs::create_dir_all(&folder).with_context(|| format!("creating {}", folder.display()))?;
    fs::set_permissions(&folder, fs::Permissions::from_mode(0o700))
        .with_context(|| format!("restricting {}", folder.display()))?;
    let path = folder.join(commit.to_hex());
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .with_context(|| format!("creating {}", path.display()))?;
    f.write_all(secret.as_bytes())
        .and_then(|()| f.sync_all())
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(commit)
}

/// Removes the lottery secret kept in `dir` for `commit`: for an offer the core refused,
/// so never written. Best effort: a file left behind only takes 32 bytes.
pub(crate) fn forget_lottery_secret(dir: &Path, commit: &taawun_core::Hash) {
    let _ = fs::remove_file(dir.join(LOTTERY_DIR).join(commit.to_hex()));
}

/// The lottery secret kept in `dir` for the offer committed to `commit`, if this node
/// holds it (a file that does not match the commitment is not returned).
pub(crate) fn lottery_secret(
    dir: &Path,
    commit: &taawun_core::Hash,
) -> Result<Option<taawun_core::Hash>> {
    let path = dir.join(LOTTERY_DIR).join(commit.to_hex());
    let bytes = match fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(anyhow::Error::new(e).context(format!("reading {}", path.display()))),
    };
    let Ok(raw) = <[u8; 32]>::try_from(bytes.as_slice()) else {
        bail!("{} is not a 32-byte secret", path.display());
    };
    let secret = taawun_core::Hash(raw);
    Ok((taawun_core::lottery::commit(&secret) == *commit).then_some(secret))
}

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
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| anyhow::anyhow!("no randomness from the OS: {e}"))?;
    write_key(dir, seed)
}

/// Writes `seed` as the key of `dir`, refusing to overwrite one.
pub(crate) fn write_key(dir: &Path, seed: [u8; 32]) -> Result<SigningKey> {
    fs::create_dir_all(dir).with_context(|| format!("creating data folder {}", dir.display()))?;
    let path = dir.join(KEY_FILE);
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
            "no key at {}: create the data folder with `taawun init --data-dir {}`",
            path.display(),
            dir.display()
        )
    })?;
    refuse_shared(&path, &meta)?;
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

/// The node's transport key (its libp2p identity), made and kept in `dir` the first time.
/// Never the member key: the peer id that every peer, relay and local network sees would
/// then name the member.
pub(crate) fn net_key(dir: &Path) -> Result<taawun_net::libp2p::identity::Keypair> {
    let path = dir.join(NET_KEY_FILE);
    let seed: [u8; 32] = match fs::metadata(&path) {
        Ok(meta) => {
            refuse_shared(&path, &meta)?;
            let bytes = fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
            bytes.as_slice().try_into().map_err(|_| {
                anyhow::anyhow!(
                    "{} is {} bytes, not a 32-byte transport key",
                    path.display(),
                    bytes.len()
                )
            })?
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut seed = [0u8; 32];
            getrandom::fill(&mut seed)
                .map_err(|e| anyhow::anyhow!("no randomness from the OS: {e}"))?;
            let mut f = fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&path)
                .with_context(|| format!("creating {}", path.display()))?;
            f.write_all(&seed)
                .and_then(|()| f.sync_all())
                .with_context(|| format!("writing {}", path.display()))?;
            seed
        }
        Err(e) => return Err(anyhow::Error::new(e).context(format!("reading {}", path.display()))),
    };
    taawun_net::libp2p::identity::Keypair::ed25519_from_bytes(seed)
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

/// What `taawun init` made.
#[derive(Debug)]
pub(crate) struct Initialised {
    /// The new key.
    pub(crate) key: SigningKey,
    /// Whether a configuration file was written (an existing one is kept).
    pub(crate) wrote_config: bool,
}

/// Creates a data folder: a key (refusing to overwrite one), the commented default
/// configuration (`config`, or the template) unless one exists, and an API token.
pub(crate) fn init(
    dir: &Path,
    seed: Option<[u8; 32]>,
    config: Option<&str>,
) -> Result<Initialised> {
    let key = match seed {
        Some(s) => write_key(dir, s)?,
        None => create_key(dir)?,
    };
    let cfg = dir.join(crate::config::CONFIG_FILE);
    let wrote_config = !cfg.exists();
    if wrote_config {
        fs::write(&cfg, config.unwrap_or(crate::config::TEMPLATE))
            .with_context(|| format!("writing {}", cfg.display()))?;
    }
    let mut token = [0u8; 32];
    getrandom::fill(&mut token).map_err(|e| anyhow::anyhow!("no randomness from the OS: {e}"))?;
    let path = dir.join(TOKEN_FILE);
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&path)
        .with_context(|| format!("creating {}", path.display()))?;
    f.write_all(hex::encode(token).as_bytes())
        .and_then(|()| f.sync_all())
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(Initialised { key, wrote_config })
}

/// The file naming the member or requester a device's data folder writes for (hex key):
/// `taawun init --device-of`.
pub(crate) const DEVICE_OF_FILE: &str = "device-of";

/// Records that the node of `dir` is a device of `member`.
pub(crate) fn write_device_of(dir: &Path, member: &taawun_core::PublicKey) -> Result<()> {
    let path = dir.join(DEVICE_OF_FILE);
    fs::write(&path, format!("{}\n", member.to_hex()))
        .with_context(|| format!("writing {}", path.display()))
}

/// The member or requester the node of `dir` is a device of, if it is one.
pub(crate) fn load_device_of(dir: &Path) -> Result<Option<taawun_core::PublicKey>> {
    let path = dir.join(DEVICE_OF_FILE);
    match fs::read_to_string(&path) {
        Ok(s) => taawun_core::PublicKey::from_hex(s.trim())
            .map(Some)
            .map_err(|e| anyhow::anyhow!("{} is not a public key: {e}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

/// Reads the API token of `dir`, refusing one that others can read.
pub(crate) fn load_token(dir: &Path) -> Result<String> {
    let path = dir.join(TOKEN_FILE);
    let meta = fs::metadata(&path).with_context(|| {
        format!(
            "no API token at {}: create the data folder with `taawun init --data-dir {}`",
            path.display(),
            dir.display()
        )
    })?;
    refuse_shared(&path, &meta)?;
    let token = fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let token = token.trim().to_owned();
    if token.len() < 32 {
        bail!("{} holds no usable token (too short)", path.display());
    }
    Ok(token)
}

fn refuse_shared(path: &Path, meta: &fs::Metadata) -> Result<()> {
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        bail!(
            "{} is readable by others (mode {mode:o}); fix it with `chmod 600 {}`",
            path.display(),
            path.display()
        );
    }
    Ok(())
}
