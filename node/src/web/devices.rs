//! The member's devices and the paper backup of this node's key, on the page.
//!
//! `/c/{coop}/devices` lists the devices the member authorised (each with its own key and
//! chain, docs/protocol.md 4.7), says how to make a new one (the lines to type on it:
//! `taawun init --device-of`, the cooperative's invite) and takes the device key it
//! printed; a device is revoked after a question (a dialog with script, a page without).
//!
//! `/c/{coop}/backup` shows the 24 words of this node's signing key (node/src/backup.rs)
//! only in the answer to a form sent with the session's CSRF token and an explicit
//! confirmation, never to a plain `GET`; both answers say `Cache-Control: no-store`, so
//! the words stay in no cache and no back-button history.

// A handler's error is the page that says what went wrong (see `handlers`).
#![allow(clippy::result_large_err)]

use super::csrf::{tokened, Checked};
use super::handlers::{done, fail, info};
use super::i18n::Tr;
use super::pages::{page, CoopInfo, Tab};
use super::{Ctx, Web};
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use maud::{html, Markup};
use taawun_api::request::parse_key;
use taawun_api::views::{AddDevice, DeviceView};

/// A page or the page that says what went wrong.
type Page = Result<Response, Response>;

macro_rules! tr {
    ($name:ident, $en:expr, $fr:expr, $ar:expr) => {
        pub(crate) const $name: Tr = Tr {
            en: $en,
            fr: $fr,
            ar: $ar,
        };
    };
}

tr!(DEVICES, "Devices", "Appareils", "الأجهزة");
tr!(
    DEVICES_LINK,
    "Your devices and the paper backup of your key",
    "Vos appareils et la sauvegarde papier de votre clé",
    "أجهزتك والنسخة الاحتياطية الورقية لمفتاحك"
);
tr!(
    DEVICES_INTRO,
    "Each device (a phone, a shared laptop) signs with its own key and writes for you. If one is lost, revoke it: nothing it signs afterwards counts.",
    "Chaque appareil (un téléphone, un ordinateur partagé) signe avec sa propre clé et écrit pour vous. S’il est perdu, révoquez-le : rien de ce qu’il signe ensuite ne compte.",
    "كل جهاز (هاتف، حاسوب مشترك) يوقّع بمفتاحه الخاص ويكتب باسمك. إذا ضاع جهاز فألغِه: لا يُحتسب شيء مما يوقّعه بعد ذلك."
);
tr!(
    NO_DEVICES,
    "No device yet.",
    "Aucun appareil pour l’instant.",
    "لا يوجد جهاز بعد."
);
tr!(THIS_DEVICE, "this device", "cet appareil", "هذا الجهاز");
tr!(IN_USE, "In use", "En service", "قيد الاستعمال");
tr!(
    NOT_ENROLLED,
    "Authorised, not enrolled yet: it enrolls by itself once it holds your authorisation",
    "Autorisé, pas encore inscrit : il s’inscrit seul dès qu’il reçoit votre autorisation",
    "مأذون له، لم يُسجَّل بعد: يسجّل نفسه حين تصله موافقتك"
);
tr!(ENROLLED_AT, "Enrolled {}", "Inscrit le {}", "سُجّل في {}");
tr!(REVOKED_AT, "Revoked {}", "Révoqué le {}", "أُلغي في {}");
tr!(REVOKE, "Revoke", "Révoquer", "إلغاء");
tr!(
    ASK_REVOKE,
    "Revoke this device? Nothing it signs from now on will count as yours. This cannot be undone.",
    "Révoquer cet appareil ? Rien de ce qu’il signera désormais ne comptera comme venant de vous. C’est définitif.",
    "إلغاء هذا الجهاز؟ لن يُحتسب لك شيء مما يوقّعه من الآن. لا يمكن التراجع عن هذا."
);
tr!(
    YES_REVOKE,
    "Yes, revoke it",
    "Oui, le révoquer",
    "نعم، ألغِه"
);
tr!(CANCEL, "Cancel", "Annuler", "إلغاء الأمر");
tr!(
    ADD_DEVICE,
    "Add a device",
    "Ajouter un appareil",
    "إضافة جهاز"
);
tr!(
    ADD_STEP_INIT,
    "1. On the new device, make its data folder as a device of yours:",
    "1. Sur le nouvel appareil, créez son dossier de données comme appareil à vous :",
    "1. على الجهاز الجديد، أنشئ مجلد بياناته كجهاز تابع لك:"
);
tr!(
    ADD_STEP_JOIN,
    "2. Start it, and have it join the cooperative with this invite:",
    "2. Démarrez-le, et faites-lui rejoindre la coopérative avec cette invitation :",
    "2. شغّله، واجعله ينضم إلى التعاونية بهذه الدعوة:"
);
tr!(
    ADD_STEP_KEY,
    "3. Type here the device key it printed (the line “device key: …”) and a name for it. It enrolls by itself once it holds your authorisation.",
    "3. Saisissez ici la clé d’appareil qu’il a affichée (la ligne « device key: … ») et un nom pour lui. Il s’inscrit seul dès qu’il reçoit votre autorisation.",
    "3. اكتب هنا مفتاح الجهاز الذي عرضه (السطر «device key: …») واسمًا له. يسجّل نفسه حين تصله موافقتك."
);
tr!(
    DEVICE_KEY,
    "Device key",
    "Clé de l’appareil",
    "مفتاح الجهاز"
);
tr!(
    DEVICE_NAME,
    "Its name (a phone, a laptop)",
    "Son nom (un téléphone, un ordinateur)",
    "اسمه (هاتف، حاسوب)"
);
tr!(AUTHORISE, "Authorise it", "L’autoriser", "أذِن له");
tr!(
    BAD_DEVICE_KEY,
    "This is not a full device key: type all 64 letters and digits it printed after “device key:”.",
    "Ce n’est pas une clé d’appareil complète : saisissez les 64 lettres et chiffres affichés après « device key: ».",
    "هذا ليس مفتاح جهاز كاملًا: اكتب كل الحروف والأرقام الأربعة والستين التي عرضها بعد «device key:»."
);
tr!(
    ON_A_DEVICE,
    "This node signs with a device key: devices are added from your own key's node.",
    "Ce nœud signe avec une clé d’appareil : les appareils s’ajoutent depuis le nœud de votre propre clé.",
    "هذه العقدة توقّع بمفتاح جهاز: تُضاف الأجهزة من عقدة مفتاحك الأصلي."
);
tr!(
    BACKUP,
    "Paper backup of this node's key",
    "Sauvegarde papier de la clé de ce nœud",
    "نسخة احتياطية ورقية لمفتاح هذه العقدة"
);
tr!(
    BACKUP_WARN,
    "The 24 words are this node's signing key. Whoever sees them can act as you: write them on paper, keep the paper safe, show them to nobody, never photograph them.",
    "Les 24 mots sont la clé de signature de ce nœud. Qui les voit peut agir à votre place : écrivez-les sur papier, gardez ce papier en lieu sûr, ne les montrez à personne, ne les photographiez jamais.",
    "الكلمات الأربع والعشرون هي مفتاح التوقيع لهذه العقدة. من يراها يستطيع التصرف باسمك: اكتبها على ورق، واحفظ الورقة في مكان آمن، ولا تُرِها لأحد، ولا تصوّرها أبدًا."
);
tr!(
    BACKUP_RESTORE,
    "With them, “taawun key restore” makes a new data folder with the same key, on a new machine.",
    "Avec eux, « taawun key restore » crée un nouveau dossier de données avec la même clé, sur une nouvelle machine.",
    "بها يُنشئ الأمر «taawun key restore» مجلد بيانات جديدًا بالمفتاح نفسه، على جهاز جديد."
);
tr!(
    BACKUP_OF_DEVICE,
    "This node signs with a device key: these words restore this device, not your own key.",
    "Ce nœud signe avec une clé d’appareil : ces mots restaurent cet appareil, pas votre propre clé.",
    "هذه العقدة توقّع بمفتاح جهاز: هذه الكلمات تستعيد هذا الجهاز، لا مفتاحك الأصلي."
);
tr!(
    BACKUP_ALONE,
    "Check that nobody can see your screen.",
    "Vérifiez que personne ne voit votre écran.",
    "تأكد أن لا أحد يرى شاشتك."
);
tr!(
    BACKUP_SHOW,
    "Show the 24 words",
    "Afficher les 24 mots",
    "اعرض الكلمات الأربع والعشرين"
);
tr!(
    BACKUP_WRITE,
    "Write the words down in this order. This page is not kept: close it when you are done.",
    "Écrivez les mots dans cet ordre. Cette page n’est pas conservée : fermez-la une fois fini.",
    "اكتب الكلمات بهذا الترتيب. هذه الصفحة لا تُحفظ: أغلقها حين تنتهي."
);
tr!(
    BACK_DEVICES,
    "Back to devices",
    "Retour aux appareils",
    "العودة إلى الأجهزة"
);

fn csrf(ctx: &Ctx) -> Markup {
    html! { input type="hidden" name="csrf" value=(ctx.csrf); }
}

#[derive(Debug, serde::Deserialize)]
pub(crate) struct DoneQuery {
    #[serde(default)]
    done: Option<String>,
}

/// `GET /c/{coop}/devices`: the member's devices and how to add one.
pub(crate) async fn list(
    State(web): State<Web>,
    ctx: Ctx,
    Path(coop): Path<String>,
    Query(q): Query<DoneQuery>,
) -> Page {
    let (id, c) = info(&web, &ctx, &coop).await?;
    let node = &web.st.node;
    let devices = node
        .devices(id)
        .await
        .map_err(|e| fail(&ctx, Some(&c), &e, "/"))?;
    let invite = node
        .invite(id)
        .await
        .map_err(|e| fail(&ctx, Some(&c), &e, "/"))?
        .invite;
    let this = node.me().to_hex();
    Ok(page(
        &ctx,
        Some(&c),
        Tab::Coop,
        ctx.lang.t(&DEVICES),
        q.done.is_some(),
        body(&ctx, &c, &devices, &this, &invite, None),
    ))
}

/// The devices page's body; `error` above the form that caused it.
fn body(
    ctx: &Ctx,
    c: &CoopInfo,
    devices: &[DeviceView],
    this: &str,
    invite: &str,
    error: Option<&str>,
) -> Markup {
    let l = ctx.lang;
    // A device key cannot authorise devices (docs/protocol.md 4.7): its node shows the
    // list, and says where devices are added.
    let on_device = this != c.me;
    html! {
        p { (l.t(&DEVICES_INTRO)) }
        @if devices.is_empty() { p.small #no-devices { (l.t(&NO_DEVICES)) } }
        ul.cards #devices {
            @for d in devices {
                li.card.device data-key=(d.key) data-state=(state(d)) {
                    p {
                        @if !d.label.trim().is_empty() { strong { bdi { (d.label) } } " · " }
                        code title=(d.key) { (d.key.get(..8).unwrap_or(&d.key)) }
                        @if d.key == this { " · " span.badge { (l.t(&THIS_DEVICE)) } }
                    }
                    p.small {
                        @match (d.revoked_at, d.enrolled, d.enrolled_at) {
                            (Some(t), _, _) => span.bad { (l.f(&REVOKED_AT, &l.datetime(t))) },
                            (None, true, at) => {
                                span.ok { (l.t(&IN_USE)) }
                                @if let Some(t) = at { " · " (l.f(&ENROLLED_AT, &l.datetime(t))) }
                            },
                            (None, false, _) => span.pending { (l.t(&NOT_ENROLLED)) },
                        }
                    }
                    @if d.revoked_at.is_none() {
                        form.revoke method="post" action=(c.link(&format!("devices/{}/revoke", d.key))) data-confirm=(l.t(&ASK_REVOKE)) {
                            (csrf(ctx))
                            button type="submit" { (l.t(&REVOKE)) }
                        }
                    }
                }
            }
        }
        @if on_device {
            p.small { (l.t(&ON_A_DEVICE)) }
        } @else {
            h2 #add { (l.t(&ADD_DEVICE)) }
            p { (l.t(&ADD_STEP_INIT)) }
            pre.cmd dir="ltr" { code #init-line { "taawun init --device-of " (c.me) } }
            p { (l.t(&ADD_STEP_JOIN)) }
            pre.cmd dir="ltr" { code { "taawun run" } "\n" code #join-line { "taawun coop join " (invite) } }
            p { (l.t(&ADD_STEP_KEY)) }
            @if let Some(e) = error { p.error role="alert" { (e) } }
            form #add-device method="post" action=(c.link("devices")) {
                (csrf(ctx))
                div.field {
                    label for="device-key" { (l.t(&DEVICE_KEY)) }
                    input #device-key type="text" name="key" dir="ltr" autocomplete="off" autocapitalize="off" spellcheck="false" required;
                }
                div.field {
                    label for="device-label" { (l.t(&DEVICE_NAME)) }
                    input #device-label type="text" name="label" maxlength=(taawun_api::limits::DEVICE_LABEL);
                }
                button.primary #authorise type="submit" { (l.t(&AUTHORISE)) }
            }
        }
        h2 { (l.t(&BACKUP)) }
        p { a #backup-link href=(c.link("backup")) { (l.t(&BACKUP)) } }
    }
}

/// `revoked`, `enrolled` or `waiting`: for the tests and the style sheet.
fn state(d: &DeviceView) -> &'static str {
    match (d.revoked_at, d.enrolled) {
        (Some(_), _) => "revoked",
        (None, true) => "enrolled",
        (None, false) => "waiting",
    }
}

#[derive(Debug, serde::Deserialize)]
pub(crate) struct AddForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    key: String,
    #[serde(default)]
    label: String,
}

/// `POST /c/{coop}/devices` (csrf, key, label): authorises a device key.
pub(crate) async fn add(
    State(web): State<Web>,
    ctx: Ctx,
    Path(coop): Path<String>,
    Checked(f): Checked<AddForm>,
) -> Page {
    let (id, c) = info(&web, &ctx, &coop).await?;
    let back = c.link("devices");
    let node = &web.st.node;
    let key = f.key.trim().to_lowercase();
    if parse_key("device", &key).is_err() {
        // The page again, the refusal above the form: the member retypes the key.
        let devices = node
            .devices(id)
            .await
            .map_err(|e| fail(&ctx, Some(&c), &e, &back))?;
        let invite = node
            .invite(id)
            .await
            .map_err(|e| fail(&ctx, Some(&c), &e, &back))?
            .invite;
        let l = ctx.lang;
        let this = node.me().to_hex();
        let mut r = page(
            &ctx,
            Some(&c),
            Tab::Coop,
            l.t(&DEVICES),
            false,
            body(
                &ctx,
                &c,
                &devices,
                &this,
                &invite,
                Some(l.t(&BAD_DEVICE_KEY)),
            ),
        );
        *r.status_mut() = StatusCode::BAD_REQUEST;
        return Err(r);
    }
    let req = AddDevice {
        key,
        label: f.label.trim().to_owned(),
    };
    node.add_device(id, req)
        .await
        .map_err(|e| fail(&ctx, Some(&c), &e, &back))?;
    Ok(done(&web, &back).await)
}

#[derive(Debug, serde::Deserialize)]
pub(crate) struct ConfirmForm {
    #[serde(default)]
    csrf: String,
    /// `1` from the page that asked (or the script's dialog).
    #[serde(default)]
    confirm: String,
}

tokened!(AddForm, ConfirmForm);

/// `POST /c/{coop}/devices/{key}/revoke`: asks first (`confirm=1` does it).
pub(crate) async fn revoke(
    State(web): State<Web>,
    ctx: Ctx,
    Path((coop, key)): Path<(String, String)>,
    Checked(f): Checked<ConfirmForm>,
) -> Page {
    let (id, c) = info(&web, &ctx, &coop).await?;
    let back = c.link("devices");
    let l = ctx.lang;
    let node = &web.st.node;
    let k = parse_key("device", &key)
        .map_err(|e| super::pages::failed(&ctx, Some(&c), StatusCode::BAD_REQUEST, &e.0, &back))?;
    if f.confirm != "1" {
        let devices = node
            .devices(id)
            .await
            .map_err(|e| fail(&ctx, Some(&c), &e, &back))?;
        let label = devices
            .iter()
            .find(|d| d.key == k.to_hex())
            .map(|d| d.label.clone())
            .unwrap_or_default();
        let action = c.link(&format!("devices/{}/revoke", k.to_hex()));
        let body = html! {
            div.explain #ask role="alert" {
                p { (l.t(&ASK_REVOKE)) }
                p.about { strong { bdi { (label) } } " · " code { (k.to_hex()) } }
            }
            div.actions {
                form method="post" action=(action) {
                    (csrf(&ctx))
                    input type="hidden" name="confirm" value="1";
                    button.primary #yes type="submit" { (l.t(&YES_REVOKE)) }
                }
                a href=(back) { (l.t(&CANCEL)) }
            }
        };
        return Ok(page(&ctx, Some(&c), Tab::Coop, l.t(&REVOKE), false, body));
    }
    node.revoke_device(id, k)
        .await
        .map_err(|e| fail(&ctx, Some(&c), &e, &back))?;
    Ok(done(&web, &back).await)
}

/// A page answer that no cache keeps.
fn no_store(mut r: Response) -> Response {
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// `GET /c/{coop}/backup`: the warning and the button that shows the words; no words.
pub(crate) async fn backup(State(web): State<Web>, ctx: Ctx, Path(coop): Path<String>) -> Page {
    let (_, c) = info(&web, &ctx, &coop).await?;
    let l = ctx.lang;
    let on_device = web.st.node.me().to_hex() != c.me;
    let body = html! {
        div.explain #backup-warning role="alert" {
            p { (l.t(&BACKUP_WARN)) }
            @if on_device { p { (l.t(&BACKUP_OF_DEVICE)) } }
            p { (l.t(&BACKUP_ALONE)) }
        }
        form #backup-form method="post" action=(c.link("backup")) {
            (csrf(&ctx))
            input type="hidden" name="confirm" value="1";
            button.primary #show-words type="submit" { (l.t(&BACKUP_SHOW)) }
        }
        p { a href=(c.link("devices")) { (l.t(&BACK_DEVICES)) } }
    };
    Ok(no_store(page(
        &ctx,
        Some(&c),
        Tab::Coop,
        l.t(&BACKUP),
        false,
        body,
    )))
}

/// `POST /c/{coop}/backup` (csrf, confirm=1): the 24 words. Without the confirmation,
/// the warning again.
pub(crate) async fn backup_words(
    State(web): State<Web>,
    ctx: Ctx,
    Path(coop): Path<String>,
    Checked(f): Checked<ConfirmForm>,
) -> Page {
    if f.confirm != "1" {
        return backup(State(web), ctx, Path(coop)).await;
    }
    let (_, c) = info(&web, &ctx, &coop).await?;
    let l = ctx.lang;
    let words = web.st.node.backup_words();
    let body = html! {
        div.explain role="alert" { p { (l.t(&BACKUP_WARN)) } p { (l.t(&BACKUP_RESTORE)) } }
        p { (l.t(&BACKUP_WRITE)) }
        ol.words #words dir="ltr" lang="en" {
            @for w in &words { li { (w) } }
        }
        p { a href=(c.link("devices")) { (l.t(&BACK_DEVICES)) } }
    };
    Ok(no_store(page(
        &ctx,
        Some(&c),
        Tab::Coop,
        l.t(&BACKUP),
        false,
        body,
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_text_is_in_every_language_and_placeholders_agree() {
        let all = [
            &DEVICES,
            &DEVICES_LINK,
            &DEVICES_INTRO,
            &NO_DEVICES,
            &THIS_DEVICE,
            &IN_USE,
            &NOT_ENROLLED,
            &ENROLLED_AT,
            &REVOKED_AT,
            &REVOKE,
            &ASK_REVOKE,
            &YES_REVOKE,
            &CANCEL,
            &ADD_DEVICE,
            &ADD_STEP_INIT,
            &ADD_STEP_JOIN,
            &ADD_STEP_KEY,
            &DEVICE_KEY,
            &DEVICE_NAME,
            &AUTHORISE,
            &BAD_DEVICE_KEY,
            &ON_A_DEVICE,
            &BACKUP,
            &BACKUP_WARN,
            &BACKUP_RESTORE,
            &BACKUP_OF_DEVICE,
            &BACKUP_ALONE,
            &BACKUP_SHOW,
            &BACKUP_WRITE,
            &BACK_DEVICES,
        ];
        for tr in all {
            let holes = tr.en.matches("{}").count();
            for x in [tr.fr, tr.ar] {
                assert!(!x.trim().is_empty(), "{}", tr.en);
                assert_eq!(x.matches("{}").count(), holes, "{}", tr.en);
            }
        }
    }

    #[test]
    fn a_device_name_s_maxlength_is_the_limit_the_node_checks() {
        let ctx = Ctx {
            lang: crate::web::i18n::Lang::En,
            csrf: "token".into(),
            here: "/".into(),
            waiting: false,
        };
        let me = "aa".repeat(32);
        let c = CoopInfo {
            id: "ee".repeat(32),
            name: "Camp 4 transcribers".into(),
            me: me.clone(),
            can_post: true,
            floors: Vec::new(),
            min_claim_window_ms: 600_000,
            waiting: None,
        };
        let page = body(&ctx, &c, &[], &me, "invite", None).into_string();
        let label = &page[page.find("id=\"device-label\"").expect("the name field")..];
        let label = &label[..label.find('>').expect("its tag ends")];
        assert!(
            label.contains(&format!(
                "maxlength=\"{}\"",
                taawun_core::body::MAX_LABEL_CHARS
            )),
            "{label}"
        );
    }
}
