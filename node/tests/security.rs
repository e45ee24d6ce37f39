//! Local security of a node: the key file's mode, and secrets kept out of logs.

mod common;

use common::{taawun, text, TEST_CONFIG};
use std::os::unix::fs::PermissionsExt;
use std::process::Command;

#[test]
fn a_key_others_can_read_stops_the_daemon_with_the_fix() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path();
    assert!(taawun(&["init"], dir).status.success());
    std::fs::write(dir.join("config.toml"), TEST_CONFIG).expect("config");
    let key = dir.join("key");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let o = taawun(&["run"], dir);
    assert!(!o.status.success());
    let out = text(&o);
    assert!(out.contains("readable by others"), "{out}");
    assert!(out.contains("chmod 600"), "{out}");
    // Nothing was started: no API address was published.
    assert!(!dir.join("api-address").exists());
}

#[test]
fn init_writes_private_files_and_refuses_to_overwrite_a_key() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path();
    let o = taawun(&["init"], dir);
    assert!(o.status.success(), "{}", text(&o));
    for f in ["key", "api-token"] {
        let mode = std::fs::metadata(dir.join(f))
            .expect(f)
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600, "{f}");
    }
    let cfg = std::fs::read_to_string(dir.join("config.toml")).expect("config");
    assert!(cfg.contains("listen = \"127.0.0.1:7420\""), "{cfg}");
    let before = std::fs::read(dir.join("key")).expect("key");
    let o = taawun(&["init"], dir);
    assert!(!o.status.success());
    assert!(text(&o).contains("refusing to overwrite"), "{}", text(&o));
    assert_eq!(std::fs::read(dir.join("key")).expect("key"), before);
}

#[test]
fn secrets_never_appear_in_the_logs_of_a_full_demo() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path().join("demo");
    let o = Command::new(env!("CARGO_BIN_EXE_taawun"))
        .args(["demo", "--keep", "--dir", dir.to_str().expect("utf-8")])
        .env("RUST_LOG", "debug")
        .output()
        .expect("demo runs");
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    let mut secrets = Vec::new();
    for node in std::fs::read_dir(&dir).expect("nodes") {
        let node = node.expect("entry").path();
        if !node.is_dir() {
            continue;
        }
        let key = std::fs::read(node.join("key")).expect("key");
        secrets.push(hex(&key));
        secrets.push(
            std::fs::read_to_string(node.join("api-token"))
                .expect("token")
                .trim()
                .to_owned(),
        );
    }
    assert_eq!(secrets.len(), 10, "five nodes, a key and a token each");
    for s in &secrets {
        assert!(!out.contains(s.as_str()), "a secret reached the logs");
        assert!(!out.contains(&s[..16]), "part of a secret reached the logs");
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}
