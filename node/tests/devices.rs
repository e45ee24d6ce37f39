//! Devices from the command line, as a member uses them: a device's data folder made
//! with `taawun init --device-of`, authorised with `taawun device add`, listed, revoked;
//! and a vote to replace a member's lost key proposed with
//! `taawun coop propose replace-key`. A real daemon, real processes.

mod common;

use common::{taawun, text, Daemon};

#[test]
fn a_member_authorises_lists_and_revokes_a_device_and_proposes_a_replacement_key() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = Daemon::start(&tmp.path().join("member"));
    let o = taawun(
        &[
            "coop",
            "create",
            "--name",
            "Camp 4 transcribers",
            "--floor",
            "2.00EUR/h",
        ],
        &d.dir,
    );
    assert!(o.status.success(), "{}", text(&o));

    // The phone's data folder: a device key that knows its member.
    let phone = tmp.path().join("phone");
    let o = taawun(&["init", "--device-of", &d.key], &phone);
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    assert!(out.contains("taawun device add"), "{out}");
    let device = out
        .lines()
        .find_map(|l| l.strip_prefix("device key: "))
        .expect("the device key is printed")
        .to_owned();
    assert_eq!(
        std::fs::read_to_string(phone.join("device-of"))
            .expect("device-of")
            .trim(),
        d.key
    );

    let o = taawun(&["device", "add", &device, "--label", "phone"], &d.dir);
    assert!(o.status.success(), "{}", text(&o));
    // A key that is not a full key is refused before anything is written.
    let o = taawun(&["device", "add", &device[..8]], &d.dir);
    assert!(!o.status.success());
    assert!(text(&o).contains("not a full public key"), "{}", text(&o));

    let o = taawun(&["device", "list"], &d.dir);
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    assert!(
        out.contains(&device) && out.contains("not enrolled yet"),
        "{out}"
    );

    let o = taawun(&["device", "revoke", &device[..12]], &d.dir);
    assert!(o.status.success(), "{}", text(&o));
    let o = taawun(&["device", "list", "--json"], &d.dir);
    let list: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert!(list[0]["revoked_at"].is_u64(), "{list}");

    // The member's key is lost: another key is proposed in its place.
    let new = "7".repeat(64);
    let new_key = {
        let k = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
        hex::encode(k.verifying_key().to_bytes())
    };
    let o = taawun(
        &[
            "coop",
            "propose",
            "replace-key",
            &d.key[..12],
            &new_key,
            "--reason",
            "laptop stolen",
        ],
        &d.dir,
    );
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("proposed replace-key"), "{}", text(&o));
    let o = taawun(
        &[
            "coop",
            "propose",
            "replace-key",
            &d.key,
            &new[..10],
            "--reason",
            "x",
        ],
        &d.dir,
    );
    assert!(!o.status.success());
    d.stop();
}
