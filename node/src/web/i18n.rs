//! The page's languages: Arabic, French and English. Words, and amounts and dates
//! written the way each language writes them, all on the server.
//!
//! Arabic pages use Western digits (0-9), with a decimal comma and a dot between
//! thousands, as Arabic is written in the Maghreb (CLDR's ar-MA, ar-DZ, ar-TN): the digits
//! are then the ones members type in the forms, read on bank transfers and quote as
//! payment references, and a page can be read beside the French one without converting.
//! Times are shown in UTC, marked as such: the node has no reliable idea of the reader's
//! time zone, and a wrong local time is worse than an explicit UTC one. Countdowns are
//! relative ("in 1 h 5 min") and need no zone.

use taawun_core::money::{decimals, minor_per_unit};
use taawun_core::Timestamp;

/// A language of the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lang {
    /// English.
    En,
    /// French.
    Fr,
    /// Arabic (right to left).
    Ar,
}

/// One text in the three languages.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Tr {
    pub(crate) en: &'static str,
    pub(crate) fr: &'static str,
    pub(crate) ar: &'static str,
}

/// Every language, in the order the switcher shows them.
pub(crate) const ALL: [Lang; 3] = [Lang::Ar, Lang::Fr, Lang::En];

impl Lang {
    /// The language code (`ar`, `fr`, `en`), also the cookie's value.
    pub(crate) fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Fr => "fr",
            Lang::Ar => "ar",
        }
    }

    /// Its name in itself, for the switcher.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Lang::En => "English",
            Lang::Fr => "Français",
            Lang::Ar => "العربية",
        }
    }

    /// `rtl` or `ltr`.
    pub(crate) fn dir(self) -> &'static str {
        match self {
            Lang::Ar => "rtl",
            _ => "ltr",
        }
    }

    /// From a code such as `fr` or `fr-FR`.
    pub(crate) fn from_code(s: &str) -> Option<Lang> {
        let primary = s.trim().split(['-', '_']).next()?.to_ascii_lowercase();
        match primary.as_str() {
            "en" => Some(Lang::En),
            "fr" => Some(Lang::Fr),
            "ar" => Some(Lang::Ar),
            _ => None,
        }
    }

    /// The best language for an `Accept-Language` header: the highest-weighted one we
    /// speak, English when none.
    pub(crate) fn negotiate(header: Option<&str>) -> Lang {
        let Some(h) = header else { return Lang::En };
        let mut best: Option<(u32, usize, Lang)> = None;
        for (i, part) in h.split(',').enumerate().take(MAX_ACCEPT_LANGUAGES) {
            let mut it = part.split(';');
            let tag = it.next().unwrap_or("");
            // Weights are thousandths: q=0.9 -> 900, compared as integers.
            let mut q = 1000;
            for p in it {
                if let Some(v) = p.trim().strip_prefix("q=") {
                    q = parse_q(v);
                }
            }
            if q == 0 {
                continue;
            }
            if let Some(l) = Lang::from_code(tag) {
                // Higher weight wins; at equal weight, the earlier one.
                let better = match best {
                    None => true,
                    Some((bq, bi, _)) => q > bq || (q == bq && i < bi),
                };
                if better {
                    best = Some((q, i, l));
                }
            }
        }
        best.map_or(Lang::En, |(_, _, l)| l)
    }

    /// The text in this language.
    pub(crate) fn t(self, tr: &Tr) -> &'static str {
        match self {
            Lang::En => tr.en,
            Lang::Fr => tr.fr,
            Lang::Ar => tr.ar,
        }
    }

    /// The text with `{}` replaced by `arg`.
    pub(crate) fn f(self, tr: &Tr, arg: &str) -> String {
        self.t(tr).replacen("{}", arg, 1)
    }

    /// The text with each `{}` replaced by the next of `args`.
    pub(crate) fn fa(self, tr: &Tr, args: &[&str]) -> String {
        let mut s = self.t(tr).to_owned();
        for a in args {
            s = s.replacen("{}", a, 1);
        }
        s
    }

    /// (decimal separator, thousands separator).
    pub(crate) fn separators(self) -> (&'static str, &'static str) {
        match self {
            Lang::En => (".", ","),
            // A narrow no-break space, as French typography wants.
            Lang::Fr => (",", "\u{202f}"),
            Lang::Ar => (",", "."),
        }
    }

    /// A number of minor units of `currency` as this language writes it, with exactly the
    /// currency's decimals ([`decimals`]): `1,234.50`, `1 234,50`, `1.234,50` (EUR);
    /// `1,234.500` (JOD); `1,234` (XOF: no decimals, no separator).
    pub(crate) fn decimal(self, minor: u64, currency: &str) -> String {
        let (dec, grp) = self.separators();
        let places = usize::from(decimals(currency));
        let unit = minor_per_unit(currency);
        let whole = self.group(minor / unit, grp);
        if places == 0 {
            whole
        } else {
            format!("{whole}{dec}{:0places$}", minor % unit)
        }
    }

    /// A whole number with thousands separators.
    pub(crate) fn int(self, n: u64) -> String {
        self.group(n, self.separators().1)
    }

    fn group(self, n: u64, sep: &str) -> String {
        let digits = n.to_string();
        let mut out = String::with_capacity(digits.len() + digits.len() / 3 * sep.len());
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                out.push_str(sep);
            }
            out.push(c);
        }
        out
    }

    /// An amount with its currency: `€4.00` in English, `4,00 €` in French and Arabic;
    /// currencies without a well-known sign keep their ISO code.
    pub(crate) fn money(self, minor: u64, currency: &str) -> String {
        let sign = match currency {
            "EUR" => Some("€"),
            "GBP" => Some("£"),
            "USD" => Some("US$"),
            _ => None,
        };
        let n = self.decimal(minor, currency);
        match (self, sign) {
            (Lang::En, Some(s)) => format!("{s}{n}"),
            (_, Some(s)) => format!("{n}\u{a0}{s}"),
            (_, None) => format!("{n}\u{a0}{currency}"),
        }
    }

    /// An hourly rate: `€12.50/h`, `12,50 €/h`, `12,50 €/س`.
    pub(crate) fn rate(self, minor: u64, currency: &str) -> String {
        format!("{}{}", self.money(minor, currency), self.t(&PER_HOUR))
    }

    /// A date and time, in UTC: `28 Nov 2026, 15:10 UTC`.
    pub(crate) fn datetime(self, ms: Timestamp) -> String {
        let secs = ms / 1000;
        let days = secs / 86_400;
        let rem = secs % 86_400;
        let (y, m, d) = civil(days);
        let month = self.t(&MONTHS[usize::from(m - 1)]);
        let comma = if self == Lang::Ar { "،" } else { "," };
        format!(
            "{d} {month} {y}{comma} {:02}:{:02} UTC",
            rem / 3600,
            rem % 3600 / 60
        )
    }

    /// A duration: `1 h 5 min`, `45 s` under a minute.
    pub(crate) fn duration(self, ms: u64) -> String {
        let s = ms / 1000;
        let (h, m) = (s / 3600, s % 3600 / 60);
        let d = s / 86_400;
        let (hu, mu, su, du) = match self {
            Lang::Ar => ("س", "د", "ث", "ي"),
            Lang::Fr => ("h", "min", "s", "j"),
            Lang::En => ("h", "min", "s", "d"),
        };
        if d >= 2 {
            format!("{d} {du} {} {hu}", h % 24)
        } else if h > 0 {
            format!("{h} {hu} {m} {mu}")
        } else if m > 0 {
            format!("{m} {mu}")
        } else {
            format!("{s} {su}")
        }
    }

    /// `in 5 min` or `5 min ago`, from `now`.
    pub(crate) fn relative(self, at: Timestamp, now: Timestamp) -> String {
        if at >= now {
            self.f(&IN, &self.duration(at - now))
        } else {
            self.f(&AGO, &self.duration(now - at))
        }
    }
}

impl Lang {
    /// A span of time in whole units, in words, for a rule: `48 hours`, `7 days`,
    /// `10 minutes` (the largest unit that divides it; seconds otherwise).
    pub(crate) fn span(self, ms: u64) -> String {
        const MIN: u64 = 60_000;
        const HOUR: u64 = 60 * MIN;
        const DAY: u64 = 24 * HOUR;
        match ms {
            0 => self.n(&MINUTES_PL, 0u64, &[]),
            // Up to two days in hours (48 hours reads better than 2 days for a window).
            _ if ms.is_multiple_of(DAY) && ms > 2 * DAY => self.n(&DAYS_N, ms / DAY, &[]),
            _ if ms.is_multiple_of(HOUR) => self.n(&HOURS_N, ms / HOUR, &[]),
            _ if ms.is_multiple_of(MIN) => self.n(&MINUTES_PL, ms / MIN, &[]),
            _ => self.duration(ms),
        }
    }

    /// A size in bytes as people read it: `64 KB`, `25 MB` (1024 to a kilobyte; one
    /// decimal when it is not whole).
    pub(crate) fn size(self, bytes: u64) -> String {
        const K: u64 = 1024;
        let (tr, unit) = if bytes >= K * K {
            (&MB, K * K)
        } else {
            (&KB, K)
        };
        let tenths = bytes.saturating_mul(10) / unit;
        let n = if tenths.is_multiple_of(10) {
            self.int(tenths / 10)
        } else {
            format!(
                "{}{}{}",
                self.int(tenths / 10),
                self.separators().0,
                tenths % 10
            )
        };
        self.f(tr, &n)
    }
}

/// A plural category of CLDR (only those our languages use).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Plural {
    Zero,
    One,
    Two,
    Few,
    Many,
    Other,
}

impl Lang {
    /// The plural category of a count `n`, by each language's rule (CLDR): English
    /// one (1) and other; French one (0 and 1) and other; Arabic zero (0), one (1),
    /// two (2), few (3-10, and 103-110...), many (11-99, 111-199...) and other (100, 101...).
    pub(crate) fn plural(self, n: u64) -> Plural {
        match self {
            Lang::En if n == 1 => Plural::One,
            Lang::En => Plural::Other,
            Lang::Fr if n <= 1 => Plural::One,
            Lang::Fr => Plural::Other,
            Lang::Ar => match (n, n % 100) {
                (0, _) => Plural::Zero,
                (1, _) => Plural::One,
                (2, _) => Plural::Two,
                (_, 3..=10) => Plural::Few,
                (_, 11..=99) => Plural::Many,
                _ => Plural::Other,
            },
        }
    }

    /// The text of `p` for the count `n`, with `{}` replaced by `n` as this language
    /// writes numbers (and any further `{}` by `args`).
    pub(crate) fn n<N: TryInto<u64>>(self, p: &Pl, n: N, args: &[&str]) -> String {
        let n: u64 = n.try_into().unwrap_or(u64::MAX);
        let cat = self.plural(n);
        let form = match self {
            Lang::En => p.en[usize::from(cat != Plural::One)],
            Lang::Fr => p.fr[usize::from(cat != Plural::One)],
            Lang::Ar => {
                p.ar[match cat {
                    Plural::Zero => 0,
                    Plural::One => 1,
                    Plural::Two => 2,
                    Plural::Few => 3,
                    Plural::Many => 4,
                    Plural::Other => 5,
                }]
            }
        };
        let mut s = form.replacen("{}", &self.int(n), 1);
        for a in args {
            s = s.replacen("{}", a, 1);
        }
        s
    }
}

/// A text that depends on a count: English and French (one, other), Arabic (zero, one,
/// two, few, many, other).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Pl {
    pub(crate) en: [&'static str; 2],
    pub(crate) fr: [&'static str; 2],
    pub(crate) ar: [&'static str; 6],
}

/// A number as typed in a form, in ASCII: Arabic-Indic (٠-٩) and Persian (۰-۹) digits
/// become 0-9, the Arabic decimal separator (٫) a dot; spaces (also no-break and narrow
/// no-break ones, as French writes `1 000,00`) and the Arabic thousands separator (٬)
/// are dropped. Then, of a dot and a comma, the last one is the decimal mark and the
/// other separates thousands (`1.234,50`, `1,234.50`); one that comes more than once
/// separates thousands (`1.000.000`); a single one is the decimal mark (`12,5`, `12.5`).
/// `None` when what is left is not digits with at most one decimal mark.
pub(crate) fn typed_number(s: &str) -> Option<String> {
    let mut t = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '0'..='9' | '.' | ',' => t.push(c),
            '\u{660}'..='\u{669}' => t.push(char::from(b'0' + (c as u32 - 0x660) as u8)),
            '\u{6f0}'..='\u{6f9}' => t.push(char::from(b'0' + (c as u32 - 0x6f0) as u8)),
            '\u{66b}' => t.push('.'),
            '\u{66c}' | '\'' | '\u{2019}' => {}
            c if c.is_whitespace() || c == '\u{a0}' || c == '\u{202f}' => {}
            _ => return None,
        }
    }
    let last_dot = t.rfind('.');
    let last_comma = t.rfind(',');
    let decimal = match (last_dot, last_comma) {
        (Some(d), Some(c)) => Some(d.max(c)),
        (Some(d), None) if t.matches('.').count() == 1 => Some(d),
        (None, Some(c)) if t.matches(',').count() == 1 => Some(c),
        _ => None,
    };
    let mut out = String::with_capacity(t.len());
    for (i, c) in t.char_indices() {
        if c.is_ascii_digit() {
            out.push(c);
        } else if Some(i) == decimal {
            out.push('.');
        }
    }
    let (int, frac) = out.split_once('.').unwrap_or((&out, ""));
    if int.is_empty() || (decimal.is_some() && frac.is_empty()) {
        return None;
    }
    Some(out)
}

/// A whole number as typed in a form ([`typed_number`]: any of our digits, spaces or
/// separators between thousands); `None` when it is not one or overflows.
pub(crate) fn typed_whole(s: &str) -> Option<u64> {
    let n = typed_number(s)?;
    if n.contains('.') {
        // `1.000` and `1,000`: one mark, read as thousands only in a whole number.
        let (int, frac) = n.split_once('.')?;
        return (frac.len() == 3 && int.len() <= 3)
            .then(|| format!("{int}{frac}").parse().ok())
            .flatten();
    }
    n.parse().ok()
}

/// At most this many languages of an `Accept-Language` header are read: browsers send a
/// handful; a longer header is someone's experiment.
const MAX_ACCEPT_LANGUAGES: usize = 32;

fn parse_q(v: &str) -> u32 {
    let v = v.trim();
    let (int, frac) = v.split_once('.').unwrap_or((v, ""));
    let int: u32 = match int {
        "1" => return 1000,
        "0" | "" => 0,
        _ => return 0,
    };
    let mut q = int;
    for (i, c) in frac.chars().take(3).enumerate() {
        let Some(d) = c.to_digit(10) else { return 0 };
        q += d * [100, 10, 1][i];
    }
    q
}

/// An instant as ISO 8601 in UTC (`2026-11-28T15:10:30Z`), for `<time datetime>`.
pub(crate) fn iso(ms: Timestamp) -> String {
    let secs = ms / 1000;
    let (y, m, d) = civil(secs / 86_400);
    let rem = secs % 86_400;
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// (year, month 1-12, day) of a count of days since 1970-01-01 (proleptic Gregorian).
fn civil(days: u64) -> (u64, u8, u8) {
    // Days since 0000-03-01, in 400-year eras of 146097 days.
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u8;
    let m = (if mp < 10 { mp + 3 } else { mp - 9 }) as u8;
    let y = yoe + era * 400 + u64::from(m <= 2);
    (y, m, d)
}

macro_rules! pl {
    ($name:ident, [$($en:expr),+], [$($fr:expr),+], [$($ar:expr),+]) => {
        pub(crate) const $name: Pl = Pl {
            en: [$($en),+],
            fr: [$($fr),+],
            ar: [$($ar),+],
        };
    };
}

macro_rules! tr {
    ($name:ident, $en:expr, $fr:expr, $ar:expr) => {
        pub(crate) const $name: Tr = Tr {
            en: $en,
            fr: $fr,
            ar: $ar,
        };
    };
}

const MONTHS: [Tr; 12] = [
    Tr {
        en: "Jan",
        fr: "janv.",
        ar: "يناير",
    },
    Tr {
        en: "Feb",
        fr: "févr.",
        ar: "فبراير",
    },
    Tr {
        en: "Mar",
        fr: "mars",
        ar: "مارس",
    },
    Tr {
        en: "Apr",
        fr: "avr.",
        ar: "أبريل",
    },
    Tr {
        en: "May",
        fr: "mai",
        ar: "ماي",
    },
    Tr {
        en: "Jun",
        fr: "juin",
        ar: "يونيو",
    },
    Tr {
        en: "Jul",
        fr: "juil.",
        ar: "يوليوز",
    },
    Tr {
        en: "Aug",
        fr: "août",
        ar: "غشت",
    },
    Tr {
        en: "Sep",
        fr: "sept.",
        ar: "شتنبر",
    },
    Tr {
        en: "Oct",
        fr: "oct.",
        ar: "أكتوبر",
    },
    Tr {
        en: "Nov",
        fr: "nov.",
        ar: "نونبر",
    },
    Tr {
        en: "Dec",
        fr: "déc.",
        ar: "دجنبر",
    },
];

tr!(PER_HOUR, "/h", "/h", "/س");
tr!(
    MAX_DECIMALS,
    "{} takes at most {} decimals",
    "{} s’écrit avec {} décimales au plus",
    "تُكتب {} بـ{} منازل عشرية على الأكثر"
);
tr!(IN, "in {}", "dans {}", "بعد {}");
tr!(AGO, "{} ago", "il y a {}", "منذ {}");

// Navigation and frame.
tr!(OFFERS, "Offers", "Offres", "العروض");
tr!(MY_WORK, "My work", "Mon travail", "عملي");
tr!(EARNINGS, "Earnings", "Gains", "المداخيل");
tr!(POST_OFFER, "Post an offer", "Publier une offre", "نشر عرض");
tr!(REQUESTS, "My requests", "Mes demandes", "طلباتي");
tr!(COOP, "Cooperative", "Coopérative", "التعاونية");
tr!(LOG_OUT, "Log out", "Se déconnecter", "تسجيل الخروج");
tr!(LANGUAGE, "Language", "Langue", "اللغة");
tr!(MAIN_NAV, "Main", "Principal", "الرئيسية");
tr!(
    LIVE_NOTE,
    "This page updates by itself.",
    "Cette page se met à jour toute seule.",
    "تتحدّث هذه الصفحة تلقائيًا."
);

// Login.
tr!(
    WELCOME,
    "Log in to your node",
    "Connexion à votre nœud",
    "الدخول إلى عقدتك"
);
tr!(
    WELCOME_TEXT,
    "This page belongs to the taawun node running on this machine. To open it, run this command in a terminal; it prints a one-time link (and opens it when it can):",
    "Cette page appartient au nœud taawun qui tourne sur cette machine. Pour l’ouvrir, lancez cette commande dans un terminal ; elle affiche un lien à usage unique (et l’ouvre quand elle le peut) :",
    "هذه الصفحة تابعة لعقدة taawun العاملة على هذا الجهاز. لفتحها، شغّل هذا الأمر في الطرفية؛ سيطبع رابطًا صالحًا لمرة واحدة (ويفتحه إن أمكن):"
);
tr!(
    CODE_USED,
    "That link has been used or has expired. Run the command again for a new one.",
    "Ce lien a déjà servi ou a expiré. Relancez la commande pour en obtenir un nouveau.",
    "هذا الرابط استُعمل من قبل أو انتهت صلاحيته. أعد تشغيل الأمر للحصول على رابط جديد."
);
tr!(NO_COOPS, "This node holds no cooperative yet. Found one or join one with the command line (`taawun coop`).", "Ce nœud ne détient encore aucune coopérative. Fondez-en une ou rejoignez-en une en ligne de commande (`taawun coop`).", "لا تحمل هذه العقدة أي تعاونية بعد. أسّس واحدة أو انضم إلى واحدة عبر سطر الأوامر (`taawun coop`).");
tr!(
    YOUR_COOPS,
    "Your cooperatives",
    "Vos coopératives",
    "تعاونياتك"
);
tr!(ROLE, "Your role", "Votre rôle", "دورك");

// Offers board.
tr!(FLOOR, "Floor", "Plancher", "الحد الأدنى");
tr!(PURPOSE, "Purpose", "Finalité", "الغرض");
tr!(REQUESTER, "Requester", "Demandeur", "صاحب الطلب");
tr!(STATE, "State", "État", "الحالة");
tr!(MINUTES_N, "{} min", "{} min", "{} د");
tr!(
    ABOVE_FLOOR,
    "{} above the floor",
    "{} au-dessus du plancher",
    "{} فوق الحد الأدنى"
);
tr!(AT_FLOOR, "at the floor", "au plancher", "عند الحد الأدنى");
tr!(SORT, "Sort by", "Trier par", "الترتيب حسب");
tr!(SORT_NEW, "Newest", "Plus récentes", "الأحدث");
tr!(SORT_RATE, "Hourly rate", "Taux horaire", "الأجر بالساعة");
tr!(SORT_PAY, "Pay", "Rémunération", "الأجر");
tr!(SORT_SHORT, "Shortest", "Plus courtes", "الأقصر");
tr!(
    SHOW_ALL,
    "Show closed offers too",
    "Afficher aussi les offres closes",
    "إظهار العروض المغلقة أيضًا"
);
tr!(SEARCH, "Search", "Rechercher", "بحث");
tr!(
    MIN_RATE,
    "Minimum hourly rate",
    "Taux horaire minimum",
    "أدنى أجر بالساعة"
);
tr!(APPLY, "Apply", "Appliquer", "تطبيق");
tr!(
    NO_OFFERS,
    "No offers match.",
    "Aucune offre ne correspond.",
    "لا توجد عروض مطابقة."
);
tr!(CLAIMED, "You claimed it", "Vous l’avez demandée", "طلبته");
tr!(
    ASSIGNED_TO_YOU,
    "Assigned to you",
    "Attribuée à vous",
    "أُسندت إليك"
);
tr!(ST_OPEN, "open", "ouverte", "مفتوح");
tr!(
    ST_AWAIT,
    "lottery pending",
    "tirage en attente",
    "القرعة قيد الانتظار"
);
tr!(ST_ASSIGNED, "assigned", "attribuée", "مُسند");
tr!(ST_WITHDRAWN, "withdrawn", "retirée", "مسحوب");
tr!(ST_EXPIRED, "expired", "expirée", "منتهي");

// Record.
tr!(
    RECORD_LINE,
    "{} accepted, {} by default, {} rejected, {} waiting",
    "{} acceptés, {} par défaut, {} refusés, {} en attente",
    "{} مقبول، {} بالقبول الضمني، {} مرفوض، {} قيد الانتظار"
);
tr!(
    REVIEWS_IN,
    "reviews in {} (median)",
    "évalue en {} (médiane)",
    "يراجع خلال {} (الوسيط)"
);
tr!(
    PAYS_IN,
    "pays in {} (median)",
    "paie en {} (médiane)",
    "يدفع خلال {} (الوسيط)"
);
tr!(
    PAID_RATE,
    "has paid {} for accepted work",
    "a payé {} pour le travail accepté",
    "دفع {} عن العمل المقبول"
);
tr!(UNPAID, "owes {}", "doit {}", "عليه {}");
tr!(
    SCORES,
    "Reviews ({}): pay {}, fairness {}, promptness {}, communication {} (out of 5)",
    "Avis ({}) : paie {}, équité {}, rapidité {}, communication {} (sur 5)",
    "التقييمات ({}): الأجر {}، الإنصاف {}، السرعة {}، التواصل {} (من 5)"
);
tr!(
    NO_RECORD,
    "No work reviewed yet.",
    "Aucun travail évalué pour l’instant.",
    "لم يُراجع أي عمل بعد."
);

// Offer page.
tr!(
    CLAIM,
    "Claim this task",
    "Demander cette tâche",
    "اطلب هذه المهمة"
);
tr!(
    LOTTERY,
    "Claims are open until {} ({}); then the requester’s node draws the winners by a public lottery among everyone who claimed, so claiming early gives no advantage.",
    "Les candidatures sont ouvertes jusqu’au {} ({}) ; ensuite le nœud du demandeur tire les gagnants au sort, publiquement, parmi toutes les candidatures : candidater tôt ne donne aucun avantage.",
    "الطلبات مفتوحة حتى {} ({})؛ بعدها تسحب عقدة صاحب الطلب الفائزين بقرعة علنية بين كل من طلب، فلا ميزة للطلب المبكّر."
);
tr!(DESCRIPTION, "What to do", "À faire", "المطلوب");
tr!(PLACES, "Places", "Places", "المقاعد");
tr!(EXPIRES, "Expires", "Expire", "تنتهي صلاحيته");
tr!(
    REVIEW_WINDOW,
    "Review window",
    "Délai d’évaluation",
    "مهلة المراجعة"
);
tr!(
    WITHDRAW,
    "Withdraw this offer",
    "Retirer cette offre",
    "سحب هذا العرض"
);
tr!(
    YOUR_OFFER,
    "This is your offer.",
    "C’est votre offre.",
    "هذا عرضك."
);

// My work.
tr!(
    SUBMIT,
    "Send the result",
    "Envoyer le résultat",
    "إرسال النتيجة"
);
tr!(
    RESULT_FILE,
    "Result file",
    "Fichier du résultat",
    "ملف النتيجة"
);
tr!(
    MINUTES_WORKED,
    "Minutes worked",
    "Minutes travaillées",
    "الدقائق المشتغلة"
);
tr!(
    NO_WORK,
    "Nothing assigned to you yet. Claim offers on the board.",
    "Rien ne vous est attribué pour l’instant. Demandez des offres sur le tableau.",
    "لم يُسند إليك شيء بعد. اطلب عروضًا من اللوحة."
);
tr!(
    WAITING_DRAW,
    "Claimed; the lottery draws {}.",
    "Demandée ; le tirage a lieu {}.",
    "طُلبت؛ تجري القرعة {}."
);
tr!(
    SUBMIT_BY,
    "Send your work by {} ({}); work sent later does not count.",
    "Envoyez votre travail avant le {} ({}) ; un travail envoyé plus tard ne compte pas.",
    "أرسل عملك قبل {} ({})؛ العمل المرسَل بعد ذلك لا يُحتسب."
);
tr!(
    MY_PLACE_LAPSED,
    "Your place lapsed: no work was sent by {}, so it passed to the next claimant.",
    "Votre place est perdue : aucun travail envoyé avant le {}, elle est passée au suivant du tirage.",
    "سقط مقعدك: لم يُرسَل عمل قبل {}، فانتقل إلى الطالب التالي."
);
tr!(
    LATE_CLAIM,
    "Your claim came after the claim window and does not count in the draw.",
    "Votre demande est arrivée après la fin des demandes et ne compte pas dans le tirage.",
    "جاء طلبك بعد انتهاء مهلة الطلبات، فلا يُحتسب في القرعة."
);
tr!(DRAW, "The draw", "Le tirage", "القرعة");
tr!(
    PLACE_OPEN,
    "submit by {} ({})",
    "envoi avant le {} ({})",
    "التسليم قبل {} ({})"
);
tr!(PLACE_FILLED, "work sent", "travail envoyé", "أُرسل العمل");
tr!(
    PLACE_LAPSED,
    "lapsed (no work by {}): passed to the next claimant",
    "perdue (aucun travail avant le {}) : passée au suivant du tirage",
    "سقط (لا عمل قبل {}): انتقل إلى الطالب التالي"
);
tr!(
    REV_PENDING,
    "In review: accepted by default {} unless the requester answers.",
    "En évaluation : acceptée par défaut {} sauf réponse du demandeur.",
    "قيد المراجعة: تُقبل ضمنيًا {} ما لم يجب صاحب الطلب."
);
tr!(REV_ACCEPTED, "Accepted {}.", "Acceptée {}.", "قُبلت {}.");
tr!(
    REV_DEFAULT,
    "Accepted by default {} (the requester did not answer in time).",
    "Acceptée par défaut {} (le demandeur n’a pas répondu à temps).",
    "قُبلت ضمنيًا {} (لم يجب صاحب الطلب في الوقت)."
);
tr!(
    REV_REJECTED,
    "Rejected {}. Reason: {}",
    "Refusée {}. Motif : {}",
    "رُفضت {}. السبب: {}"
);
tr!(
    SUBMITTED,
    "Submitted {} ({} min reported).",
    "Envoyée {} ({} min déclarées).",
    "أُرسلت {} ({} د مصرّح بها)."
);
tr!(TOPUP, "Top-up owed", "Complément dû", "التكملة المستحقة");

// Earnings.
tr!(EARNED, "Earned", "Gagné", "المكتسب");
tr!(PAID, "Paid", "Payé", "المدفوع");
tr!(CONFIRMED, "Confirmed", "Confirmé", "المؤكَّد");
tr!(OWED, "Still owed", "Reste dû", "المتبقي");
tr!(
    RATE_CHART,
    "My effective hourly rate, task by task, against the floor",
    "Mon taux horaire effectif, tâche par tâche, face au plancher",
    "أجري الفعلي بالساعة، مهمة بمهمة، مقارنة بالحد الأدنى"
);
tr!(
    NO_CHART,
    "The chart appears once work of yours is accepted.",
    "Le graphique apparaît dès qu’un de vos travaux est accepté.",
    "يظهر الرسم البياني عند قبول أول عمل لك."
);
tr!(
    PAYMENTS,
    "Payments to you",
    "Paiements reçus",
    "المدفوعات إليك"
);
tr!(CONFIRM, "I received it", "Je l’ai reçu", "استلمته");
tr!(DENY, "Not received", "Pas reçu", "لم أستلمه");
tr!(
    ANSWERED_NOT_RECEIVED,
    "Answered: not received",
    "Répondu : pas reçu",
    "الرد: لم يُستلَم"
);
tr!(
    UNCONFIRMED,
    "Claimed paid, not confirmed",
    "Déclaré payé, non confirmé",
    "مُعلَن مدفوعًا، غير مؤكَّد"
);
tr!(
    UNCONFIRMED_LINE,
    "{} claimed paid, not confirmed",
    "{} déclaré payé, non confirmé",
    "{} مُعلَن مدفوعًا، غير مؤكَّد"
);
tr!(REFERENCE, "Reference", "Référence", "المرجع");
tr!(
    SEALED,
    "sealed (only the member and the requester can read this)",
    "scellé (seuls le membre et le demandeur peuvent le lire)",
    "مختوم (لا يقرؤه إلا العضو وصاحب الطلب)"
);
tr!(
    SEALED_COMMENT,
    "a comment, sealed (only the member who wrote it and the requester can read it)",
    "un commentaire, scellé (seuls le membre qui l'a écrit et le demandeur peuvent le lire)",
    "تعليق مختوم (لا يقرؤه إلا العضو الذي كتبه وصاحب الطلب)"
);
tr!(
    FLAGGED,
    "this text breaks the rules for texts: {}",
    "ce texte enfreint les règles des textes : {}",
    "هذا النص يخالف قواعد النصوص: {}"
);
tr!(
    REVIEW_REQ,
    "Review a requester",
    "Évaluer un demandeur",
    "تقييم صاحب طلب"
);
tr!(SC_PAY, "Pay", "Paie", "الأجر");
tr!(
    SC_FAIR,
    "Fairness of reviews",
    "Équité des évaluations",
    "إنصاف المراجعات"
);
tr!(SC_PROMPT, "Promptness", "Rapidité", "السرعة");
tr!(SC_COMM, "Communication", "Communication", "التواصل");
tr!(COMMENT, "Comment", "Commentaire", "تعليق");
tr!(
    SEND_REVIEW,
    "Send the review",
    "Envoyer l’avis",
    "إرسال التقييم"
);
tr!(
    NOTHING_YET,
    "Nothing yet.",
    "Rien pour l’instant.",
    "لا شيء بعد."
);

// Post an offer.
tr!(TITLE, "Title", "Titre", "العنوان");
tr!(
    PURPOSE_HINT,
    "What the work is for: members choose their work with it.",
    "À quoi sert le travail : les membres choisissent avec.",
    "الغاية من العمل: يختار الأعضاء عملهم بناءً عليها."
);
tr!(
    PAY_PER,
    "Pay per assignment",
    "Rémunération par attribution",
    "الأجر لكل إسناد"
);
tr!(CURRENCY, "Currency", "Devise", "العملة");
tr!(
    MINUTES_EST,
    "Estimated minutes",
    "Minutes estimées",
    "الدقائق المقدّرة"
);
tr!(MORE, "More settings", "Plus de réglages", "إعدادات أخرى");
tr!(
    CLAIM_WINDOW_S,
    "Claim window (seconds)",
    "Fenêtre de candidature (secondes)",
    "مدة تلقي الطلبات (بالثواني)"
);
tr!(
    CLAIM_WINDOW_LEAST,
    "This cooperative’s least is {} ({} s).",
    "Le minimum de cette coopérative est de {} ({} s).",
    "أقل مدة تسمح بها هذه التعاونية: {} ({} ث)."
);
tr!(
    REVIEW_WINDOW_H,
    "Review window (hours)",
    "Délai d’évaluation (heures)",
    "مهلة المراجعة (بالساعات)"
);
tr!(
    FLOOR_IS,
    "The cooperative’s floor is {}.",
    "Le plancher de la coopérative est de {}.",
    "الحد الأدنى للتعاونية هو {}."
);
tr!(
    RATE_OK,
    "at or above the floor",
    "au plancher ou au-dessus",
    "عند الحد الأدنى أو فوقه"
);
tr!(
    RATE_LOW,
    "under the floor: this offer would be refused",
    "sous le plancher : cette offre serait refusée",
    "تحت الحد الأدنى: سيُرفض هذا العرض"
);
tr!(PUBLISH, "Publish", "Publier", "نشر");
tr!(
    REFUSED,
    "The node refused it:",
    "Le nœud l’a refusé :",
    "رفضته العقدة:"
);
tr!(
    NOT_REQUESTER,
    "Only the cooperative’s members and admitted requesters post offers.",
    "Seuls les membres et les demandeurs admis publient des offres.",
    "لا ينشر العروض إلا الأعضاء وأصحاب الطلبات المقبولون."
);

// Requests.
tr!(MY_OFFERS, "My offers", "Mes offres", "عروضي");
tr!(INCOMING, "Submissions", "Travaux reçus", "الأعمال الواردة");
tr!(
    DOWNLOAD,
    "Download the result",
    "Télécharger le résultat",
    "تنزيل النتيجة"
);
tr!(
    NOT_RECEIVED,
    "Result not received yet",
    "Résultat pas encore reçu",
    "لم تصل النتيجة بعد"
);
tr!(ACCEPT, "Accept", "Accepter", "قبول");
tr!(REJECT, "Reject", "Refuser", "رفض");
tr!(
    REASON,
    "Reason (required)",
    "Motif (obligatoire)",
    "السبب (إلزامي)"
);
tr!(
    RECORD_PAYMENT,
    "Record a payment",
    "Enregistrer un paiement",
    "تسجيل دفعة"
);
tr!(MEMBER, "Member", "Membre", "العضو");
tr!(
    PAY_CHECK,
    "Check this payment",
    "Vérifiez ce paiement",
    "تحقّق من هذه الدفعة"
);
tr!(
    PAY_OVER,
    "You are paying {} to {}; owed to this member is {}.",
    "Vous payez {} à {} ; il est dû à ce membre {}.",
    "أنت تدفع {} إلى {}، والمستحق لهذا العضو {}."
);
tr!(
    PAY_PENDING,
    "Of that, {} is already recorded as paid and awaits the member’s answer.",
    "Dont {} déjà enregistrés comme payés, en attente de la réponse du membre.",
    "منها {} مسجّلة كمدفوعة بانتظار ردّ العضو."
);
tr!(
    PAY_OVER_ASK,
    "That is more than is left to pay ({}). Record it anyway?",
    "C’est plus que ce qui reste à payer ({}). L’enregistrer quand même ?",
    "هذا أكثر مما تبقّى للدفع ({}). هل تسجّلها رغم ذلك؟"
);
tr!(
    PAY_CONFIRM,
    "Yes, record {}",
    "Oui, enregistrer {}",
    "نعم، سجّل {}"
);
tr!(PAY_CHANGE, "No, go back", "Non, revenir", "لا، رجوع");
tr!(AMOUNT, "Amount", "Montant", "المبلغ");
tr!(SAVE, "Record", "Enregistrer", "تسجيل");
tr!(
    MY_RECORD,
    "My record, as members see it",
    "Mon historique, tel que les membres le voient",
    "سجلي كما يراه الأعضاء"
);
tr!(WHAT_I_OWE, "What I owe", "Ce que je dois", "ما عليّ");
tr!(WINNERS, "Winners", "Gagnants", "الفائزون");

// Cooperative.
tr!(MEMBERS, "Members", "Membres", "الأعضاء");
tr!(REQUESTERS, "Requesters", "Demandeurs", "أصحاب الطلبات");
tr!(FLOORS, "Floor", "Plancher", "الحد الأدنى للأجر");
tr!(LIMITS, "Limits", "Limites", "الحدود");
tr!(PROPOSALS, "Proposals", "Propositions", "المقترحات");
tr!(
    QUORUM,
    "{} of {} votes cast needed (yes and no count)",
    "{} voix exprimées sur {} nécessaires (pour et contre comptent)",
    "{} من {} أصوات مطلوبة (تُحسب نعم ولا)"
);
tr!(PASSES, "passes", "adoptée", "تُقَرّ");
tr!(
    NOT_PASSING,
    "does not pass yet",
    "pas encore adoptée",
    "لم تُقَرّ بعد"
);
tr!(
    OPEN_UNTIL,
    "open until {}",
    "ouverte jusqu’au {}",
    "مفتوحة حتى {}"
);
tr!(VOTE_YES, "Vote yes", "Voter pour", "صوّت بنعم");
tr!(VOTE_NO, "Vote no", "Voter contre", "صوّت بلا");
tr!(ENACTED, "enacted", "adoptée", "مُعتمد");
tr!(
    NO_PROPOSALS,
    "No proposals.",
    "Aucune proposition.",
    "لا توجد مقترحات."
);
tr!(
    PEERS,
    "Peers and sync",
    "Pairs et synchronisation",
    "الأقران والمزامنة"
);
tr!(YOU, "you", "vous", "أنت");
tr!(
    FROZEN,
    "Frozen for equivocation",
    "Gelés pour double écriture",
    "مجمَّدون بسبب ازدواج الكتابة"
);

// Outcomes.
tr!(DONE, "Done.", "C’est fait.", "تم.");
tr!(
    FAILED,
    "That did not work",
    "Cela n’a pas marché",
    "لم ينجح ذلك"
);
tr!(BACK, "Back", "Retour", "رجوع");
tr!(
    CSRF_BAD,
    "This form is stale (or came from elsewhere). Reload the page and try again.",
    "Ce formulaire est périmé (ou vient d’ailleurs). Rechargez la page et réessayez.",
    "هذا النموذج قديم (أو جاء من مصدر آخر). أعد تحميل الصفحة وحاول مجددًا."
);

// Counts, in each language's plural forms: English and French (one, other); Arabic
// (zero, one, two, few, many, other).
pl!(
    CLAIMS_N,
    ["{} claim", "{} claims"],
    ["{} candidature", "{} candidatures"],
    [
        "لا طلبات",
        "طلب واحد",
        "طلبان",
        "{} طلبات",
        "{} طلبًا",
        "{} طلب"
    ]
);
pl!(
    VOID_OFFER,
    [
        "{} assignment of this offer left out claims made in the window: it does not count.",
        "{} assignments of this offer left out claims made in the window: they do not count."
    ],
    [
        "{} attribution de cette offre a écarté des demandes faites à temps : elle ne compte pas.",
        "{} attributions de cette offre ont écarté des demandes faites à temps : elles ne comptent pas."
    ],
    [
        "لا إسناد لهذا العرض أغفل طلبات قُدّمت في المهلة.",
        "إسناد واحد لهذا العرض أغفل طلبات قُدّمت في المهلة، فلا يُحتسب.",
        "إسنادان لهذا العرض أغفلا طلبات قُدّمت في المهلة، فلا يُحتسبان.",
        "{} إسنادات لهذا العرض أغفلت طلبات قُدّمت في المهلة، فلا تُحتسب.",
        "{} إسنادًا لهذا العرض أغفلت طلبات قُدّمت في المهلة، فلا تُحتسب.",
        "{} إسناد لهذا العرض أغفلت طلبات قُدّمت في المهلة، فلا تُحتسب."
    ]
);
pl!(
    NOT_RECEIVED_LINE,
    [
        "{} payment answered not received",
        "{} payments answered not received"
    ],
    [
        "{} paiement signalé non reçu",
        "{} paiements signalés non reçus"
    ],
    [
        "لا دفعات أُجيب عنها بعدم الاستلام",
        "دفعة واحدة أُجيب عنها بعدم الاستلام",
        "دفعتان أُجيب عنهما بعدم الاستلام",
        "{} دفعات أُجيب عنها بعدم الاستلام",
        "{} دفعةً أُجيب عنها بعدم الاستلام",
        "{} دفعة أُجيب عنها بعدم الاستلام"
    ]
);
pl!(
    VOID_LINE,
    [
        "{} assignment that left out claims",
        "{} assignments that left out claims"
    ],
    [
        "{} attribution ayant écarté des demandes",
        "{} attributions ayant écarté des demandes"
    ],
    [
        "لا إسنادات أغفلت طلبات",
        "إسناد واحد أغفل طلبات",
        "إسنادان أغفلا طلبات",
        "{} إسنادات أغفلت طلبات",
        "{} إسنادًا أغفلت طلبات",
        "{} إسناد أغفلت طلبات"
    ]
);
pl!(
    PEERS_N,
    ["{} peer connected", "{} peers connected"],
    ["{} pair connecté", "{} pairs connectés"],
    [
        "لا أقران متصلون",
        "قرين واحد متصل",
        "قرينان متصلان",
        "{} أقران متصلون",
        "{} قرينًا متصلًا",
        "{} قرين متصل"
    ]
);
pl!(
    WAITING_FOR_PEERS_N,
    [
        "Waiting for the cooperative’s other nodes to confirm your latest entry before writing ({} peer connected).",
        "Waiting for the cooperative’s other nodes to confirm your latest entry before writing ({} peers connected)."
    ],
    [
        "En attente que les autres nœuds de la coopérative confirment votre dernière entrée avant d’écrire ({} pair connecté).",
        "En attente que les autres nœuds de la coopérative confirment votre dernière entrée avant d’écrire ({} pairs connectés)."
    ],
    [
        "في انتظار أن تؤكد عُقد التعاونية الأخرى آخر قيد لك قبل الكتابة (لا أقران متصلون).",
        "في انتظار أن تؤكد عُقد التعاونية الأخرى آخر قيد لك قبل الكتابة (قرين واحد متصل).",
        "في انتظار أن تؤكد عُقد التعاونية الأخرى آخر قيد لك قبل الكتابة (قرينان متصلان).",
        "في انتظار أن تؤكد عُقد التعاونية الأخرى آخر قيد لك قبل الكتابة ({} أقران متصلون).",
        "في انتظار أن تؤكد عُقد التعاونية الأخرى آخر قيد لك قبل الكتابة ({} قرينًا متصلًا).",
        "في انتظار أن تؤكد عُقد التعاونية الأخرى آخر قيد لك قبل الكتابة ({} قرين متصل)."
    ]
);
pl!(
    ENTRIES_N,
    ["{} entry held", "{} entries held"],
    ["{} entrée détenue", "{} entrées détenues"],
    [
        "لا قيود محفوظة",
        "قيد واحد محفوظ",
        "قيدان محفوظان",
        "{} قيود محفوظة",
        "{} قيدًا محفوظًا",
        "{} قيد محفوظ"
    ]
);
pl!(
    AUTHORS_N,
    ["from {} author", "from {} authors"],
    ["de {} auteur", "de {} auteurs"],
    [
        "من دون مؤلفين",
        "من مؤلف واحد",
        "من مؤلفَين",
        "من {} مؤلفين",
        "من {} مؤلفًا",
        "من {} مؤلف"
    ]
);
pl!(
    VOTES_NOW,
    ["{} vote now", "{} votes now"],
    ["{} voix aujourd’hui", "{} voix aujourd’hui"],
    [
        "لا أصوات حاليًا",
        "صوت واحد حاليًا",
        "صوتان حاليًا",
        "{} أصوات حاليًا",
        "{} صوتًا حاليًا",
        "{} صوت حاليًا"
    ]
);
tr!(
    QUORUM_RULE,
    "Quorum: {} % of members ({}).",
    "Quorum : {} % des membres ({}).",
    "النصاب: {} ٪ من الأعضاء ({})."
);

tr!(
    NOT_DRAWN,
    "You were not drawn: the lottery gave the places to other claimants.",
    "Vous n’avez pas été tiré au sort : le tirage a donné les places à d’autres.",
    "لم تُسحب في القرعة: ذهبت المقاعد إلى طالبين آخرين."
);
tr!(
    SCALE,
    "1 = very poor, 5 = excellent.",
    "1 = très mauvais, 5 = excellent.",
    "1 = سيئ جدًا، 5 = ممتاز."
);

// What the page says of a form it cannot send on, in the page's language.
tr!(
    NOT_AMOUNT,
    "{}: “{}” is not an amount; write it like 12.50, 12,50 or 1 000,00.",
    "{} : « {} » n’est pas un montant ; écrivez-le comme 12,50 ou 1 000,00.",
    "{}: «{}» ليس مبلغًا؛ اكتبه هكذا 12,50 أو ١٢٫٥٠."
);
tr!(
    NOT_WHOLE,
    "{}: “{}” is not a whole number.",
    "{} : « {} » n’est pas un nombre entier.",
    "{}: «{}» ليس عددًا صحيحًا."
);
tr!(
    REQUIRED,
    "{}: this field is required.",
    "{} : ce champ est obligatoire.",
    "{}: هذا الحقل إلزامي."
);
tr!(
    BLANK_REASON,
    "Say why you reject this work: a reason is required, and the member will read it.",
    "Dites pourquoi vous refusez ce travail : le motif est obligatoire, et le membre le lira.",
    "اذكر سبب رفض هذا العمل: السبب إلزامي، وسيقرؤه العضو."
);
tr!(
    NO_FILE,
    "Choose the result file to send.",
    "Choisissez le fichier du résultat à envoyer.",
    "اختر ملف النتيجة المراد إرساله."
);
tr!(
    UNDER_FLOOR,
    "Offer refused: {} for {} min is {}, under the cooperative’s floor of {}. Pay at least {} for {} min.",
    "Offre refusée : {} pour {} min font {}, sous le plancher de la coopérative ({}). Payez au moins {} pour {} min.",
    "رُفض العرض: {} مقابل {} د يساوي {}، وهو تحت الحد الأدنى للتعاونية ({}). ادفع {} على الأقل مقابل {} د."
);
tr!(
    NO_FLOOR_IN,
    "Offer refused: this cooperative has no floor in {}, so it takes no offers in it (floors: {}).",
    "Offre refusée : cette coopérative n’a pas de plancher en {}, elle n’y prend donc pas d’offres (planchers : {}).",
    "رُفض العرض: لا حد أدنى لهذه التعاونية بعملة {}، فلا تقبل عروضًا بها (الحدود الدنيا: {})."
);
tr!(
    WINDOW_TOO_SHORT,
    "Offer refused: a claim window of {} is shorter than this cooperative’s least of {}.",
    "Offre refusée : une fenêtre de candidature de {} est plus courte que le minimum de cette coopérative ({}).",
    "رُفض العرض: مدة تلقي طلبات قدرها {} أقصر من أقل مدة تسمح بها هذه التعاونية ({})."
);
tr!(
    MUST_BE_POSITIVE,
    "{}: give at least 1.",
    "{} : indiquez au moins 1.",
    "{}: أدخل 1 على الأقل."
);

// Earnings at a glance, confirmations, a node alone, comments, rules, pages.
tr!(
    TOTALS,
    "In all, per currency",
    "Au total, par monnaie",
    "المجموع، حسب العملة"
);
tr!(
    ASK_ACCEPT,
    "Accept this work? Its pay becomes owed to the member, and an acceptance cannot be taken back.",
    "Accepter ce travail ? Sa paie devient due au membre, et une acceptation est définitive.",
    "هل تقبل هذا العمل؟ يصبح أجره مستحقًّا للعضو، ولا رجوع عن القبول."
);
tr!(
    ASK_REJECT,
    "Reject this work for the reason below? The member is not paid for it, and the rejection shows on your record.",
    "Refuser ce travail pour le motif ci-dessous ? Le membre n’est pas payé, et le refus figure sur votre dossier.",
    "هل ترفض هذا العمل للسبب أدناه؟ لا يُدفع للعضو أجره، ويظهر الرفض في سجلّك."
);
tr!(
    ASK_WITHDRAW,
    "Withdraw this offer? Members can no longer claim it.",
    "Retirer cette offre ? Les membres ne pourront plus la demander.",
    "هل تسحب هذا العرض؟ لن يستطيع الأعضاء طلبه بعد ذلك."
);
tr!(YES_ACCEPT, "Yes, accept", "Oui, accepter", "نعم، اقبل");
tr!(YES_REJECT, "Yes, reject", "Oui, refuser", "نعم، ارفض");
tr!(YES_WITHDRAW, "Yes, withdraw", "Oui, retirer", "نعم، اسحب");
tr!(SURE, "Are you sure?", "En êtes-vous sûr ?", "هل أنت متأكد؟");
tr!(PAY_THIS, "Pay", "Payer", "ادفع");
tr!(
    WAITING,
    "Saved on this device. No other node is connected: it is waiting to reach the cooperative, and goes out by itself as soon as one is.",
    "Enregistré sur cet appareil. Aucun autre nœud n’est connecté : en attente de joindre la coopérative ; l’envoi se fera tout seul dès qu’un nœud sera joignable.",
    "حُفظ على هذا الجهاز. لا توجد عقدة أخرى متصلة: في انتظار الوصول إلى التعاونية، وسيُرسَل تلقائيًا فور الاتصال."
);
tr!(
    COMMENTS,
    "What members wrote",
    "Ce qu’en écrivent les membres",
    "ما كتبه الأعضاء"
);
tr!(
    L_MAX_REVIEW,
    "Longest review window",
    "Délai d’examen le plus long",
    "أطول مهلة للمراجعة"
);
tr!(
    L_MAX_CLAIM,
    "Longest claim window",
    "Fenêtre de candidature la plus longue",
    "أطول مهلة لتلقي الطلبات"
);
tr!(
    L_MIN_CLAIM,
    "Shortest claim window",
    "Fenêtre de candidature la plus courte",
    "أقصر مهلة لتلقي الطلبات"
);
tr!(
    L_OFFER_LIFE,
    "Longest life of an offer",
    "Durée de vie maximale d’une offre",
    "أطول مدة لعرض"
);
tr!(
    L_RESULT,
    "Largest result file",
    "Plus gros fichier de résultat",
    "أكبر ملف نتيجة"
);
tr!(L_ENTRY, "Largest entry", "Plus grande entrée", "أكبر قيد");
tr!(
    L_TOPUP,
    "Top-up for extra time: at most",
    "Complément pour le temps en plus : au plus",
    "تكملة الوقت الإضافي: على الأكثر"
);
tr!(
    L_TOPUP_VALUE,
    "{} % of the estimated minutes",
    "{} % des minutes estimées",
    "{}٪ من الدقائق المقدّرة"
);
tr!(
    L_AMEND,
    "Delay before an amendment takes effect",
    "Délai avant qu’un amendement s’applique",
    "المهلة قبل سريان تعديل"
);
tr!(
    L_PROPOSAL,
    "A proposal is open for votes for",
    "Une proposition reste ouverte au vote",
    "مدة التصويت على مقترح"
);
tr!(
    L_MAJORITY,
    "Majority to pass an amendment",
    "Majorité pour adopter un amendement",
    "الأغلبية لإقرار تعديل"
);
tr!(
    L_SUPER,
    "Majority to remove a member, change the quorum or lower a floor",
    "Majorité pour exclure un membre, changer le quorum ou baisser un plancher",
    "الأغلبية لإقصاء عضو أو تغيير النصاب أو خفض حدّ أدنى"
);
tr!(
    L_PCT_VALUE,
    "more than {} % of the votes cast",
    "plus de {} % des voix exprimées",
    "أكثر من {}٪ من الأصوات المُدلى بها"
);
tr!(
    L_SUBMIT,
    "Time to send the work once drawn",
    "Délai pour envoyer le travail une fois tiré au sort",
    "مهلة إرسال العمل بعد القرعة"
);
tr!(KB, "{} KB", "{} Ko", "{} ك.ب");
tr!(MB, "{} MB", "{} Mo", "{} م.ب");
pl!(
    HOURS_N,
    ["{} hour", "{} hours"],
    ["{} heure", "{} heures"],
    [
        "{} ساعة",
        "ساعة واحدة",
        "ساعتان",
        "{} ساعات",
        "{} ساعة",
        "{} ساعة"
    ]
);
pl!(
    DAYS_N,
    ["{} day", "{} days"],
    ["{} jour", "{} jours"],
    [
        "{} يوم",
        "يوم واحد",
        "يومان",
        "{} أيام",
        "{} يومًا",
        "{} يوم"
    ]
);
pl!(
    MINUTES_PL,
    ["{} minute", "{} minutes"],
    ["{} minute", "{} minutes"],
    [
        "{} دقيقة",
        "دقيقة واحدة",
        "دقيقتان",
        "{} دقائق",
        "{} دقيقة",
        "{} دقيقة"
    ]
);
tr!(NEXT, "Next", "Suivants", "التالي");
tr!(DETAILS, "The node’s words", "Les mots du nœud", "نص العقدة");
tr!(
    E_NOT_YOURS,
    "This work is not yours to send: no place in this offer’s draw is yours (any more).",
    "Ce travail n’est pas à vous d’envoyer : aucune place du tirage de cette offre n’est (plus) la vôtre.",
    "ليس لك إرسال هذا العمل: لا مكان لك (بعد الآن) في قرعة هذا العرض."
);
tr!(
    E_NOT_OPEN,
    "This offer takes no more claims: its claim window has closed, or it was withdrawn.",
    "Cette offre ne prend plus de candidatures : sa fenêtre est close, ou elle a été retirée.",
    "لم يعد هذا العرض يقبل طلبات: انتهت مهلة الطلب أو سُحب العرض."
);
tr!(
    E_CLAIMED,
    "You already claimed this offer.",
    "Vous avez déjà demandé cette offre.",
    "لقد طلبت هذا العرض من قبل."
);
tr!(
    E_EXPIRED,
    "This offer has expired.",
    "Cette offre a expiré.",
    "انتهت صلاحية هذا العرض."
);
tr!(
    E_NOT_ALLOWED,
    "Your key may not do this in this cooperative (its role does not allow it, or it is frozen).",
    "Votre clé ne peut pas faire cela dans cette coopérative (son rôle ne le permet pas, ou elle est gelée).",
    "لا يحق لمفتاحك القيام بهذا في هذه التعاونية (دوره لا يسمح بذلك، أو هو مجمَّد)."
);
tr!(
    E_REVIEWED,
    "This work was already accepted or rejected.",
    "Ce travail a déjà été accepté ou refusé.",
    "سبق قبول هذا العمل أو رفضه."
);
tr!(
    E_SCORE,
    "Scores go from 1 to 5.",
    "Les notes vont de 1 à 5.",
    "الدرجات من 1 إلى 5."
);
tr!(
    E_AMOUNT,
    "This amount does not read as an amount of that currency.",
    "Ce montant ne se lit pas comme un montant de cette monnaie.",
    "هذا المبلغ لا يُقرأ مبلغًا بهذه العملة."
);
tr!(
    E_VOTED,
    "You already voted on this proposal.",
    "Vous avez déjà voté sur cette proposition.",
    "لقد صوّتَّ على هذا المقترح من قبل."
);
tr!(
    E_ANSWERED,
    "This payment was already answered.",
    "Ce paiement a déjà reçu une réponse.",
    "سبق الرد على هذه الدفعة."
);
tr!(
    E_TOO_LONG,
    "Too long for this cooperative: shorten the text.",
    "Trop long pour cette coopérative : raccourcissez le texte.",
    "طويل جدًّا بالنسبة لهذه التعاونية: اختصر النص."
);
tr!(
    E_FLOOR,
    "Refused: this pays under the cooperative’s floor.",
    "Refusé : cela paie sous le plancher de la coopérative.",
    "مرفوض: هذا الأجر أقل من الحد الأدنى للتعاونية."
);
tr!(
    E_CURRENCY,
    "This cooperative has no floor in that currency, so it takes no offers in it.",
    "Cette coopérative n’a pas de plancher dans cette monnaie : elle n’y accepte aucune offre.",
    "ليس لهذه التعاونية حد أدنى بهذه العملة، فلا تقبل عروضًا بها."
);
tr!(
    E_SUBMITTED,
    "You already sent your work for this offer.",
    "Vous avez déjà envoyé votre travail pour cette offre.",
    "لقد أرسلت عملك لهذا العرض من قبل."
);
tr!(
    E_RESULT_SIZE,
    "This file is larger than this cooperative allows.",
    "Ce fichier dépasse la taille permise par cette coopérative.",
    "هذا الملف أكبر مما تسمح به هذه التعاونية."
);
tr!(
    E_CLOCK,
    "This device’s clock is ahead: set the date and time, then try again.",
    "L’horloge de cet appareil est en avance : réglez la date et l’heure, puis réessayez.",
    "ساعة هذا الجهاز متقدمة: اضبط التاريخ والوقت ثم أعد المحاولة."
);
tr!(
    E_BIDI,
    "The text holds a character that reverses or hides what is around it (a direction control, such as U+202E): remove it.",
    "Le texte contient un caractère qui inverse ou cache ce qui l’entoure (une commande de sens, comme U+202E) : retirez-le.",
    "يحتوي النص على محرف يعكس ما حوله أو يخفيه (محرف تحكم في الاتجاه مثل U+202E): احذفه."
);
tr!(
    E_RULES,
    "The cooperative’s rules refuse this.",
    "Les règles de la coopérative refusent cela.",
    "قواعد التعاونية ترفض هذا."
);
tr!(
    E_STOPPED,
    "The node’s network has stopped: restart the node.",
    "Le réseau du nœud s’est arrêté : redémarrez le nœud.",
    "توقفت شبكة العقدة: أعد تشغيل العقدة."
);
tr!(
    E_NOT_HERE,
    "Not found on this node (yet): it may not have reached it.",
    "Introuvable sur ce nœud (pour l’instant) : cela ne lui est peut-être pas encore parvenu.",
    "غير موجود على هذه العقدة (حتى الآن): ربما لم يصل إليها بعد."
);
tr!(
    E_NOT_OWN_OFFER,
    "This offer was posted by someone else: only its requester may withdraw or assign it.",
    "Cette offre a été publiée par quelqu’un d’autre : seul son demandeur peut la retirer ou l’attribuer.",
    "نشر هذا العرضَ شخصٌ آخر: لا يسحبه أو يسنده إلا صاحب الطلب."
);
tr!(
    E_NOT_OWN_PAYMENT,
    "This payment is to another member: only they can say whether it arrived.",
    "Ce paiement est destiné à un autre membre : lui seul peut dire s’il est arrivé.",
    "هذه الدفعة لعضو آخر: هو وحده من يقول إن كانت قد وصلت."
);
tr!(
    E_ASSIGNMENT_NOT_HELD,
    "The draw of this offer has not reached this node yet: try again in a moment.",
    "Le tirage de cette offre n’est pas encore parvenu à ce nœud : réessayez dans un instant.",
    "لم تصل قرعة هذا العرض إلى هذه العقدة بعد: حاول مرة أخرى بعد قليل."
);
tr!(
    E_OUTBOX_FULL,
    "Too many results are waiting to be delivered: try again once some have reached their requesters.",
    "Trop de résultats attendent d’être livrés : réessayez quand certains seront parvenus à leurs demandeurs.",
    "نتائج كثيرة تنتظر التسليم: حاول مرة أخرى بعد أن يصل بعضها إلى أصحاب الطلبات."
);
tr!(
    E_NOT_ALL_HELD,
    "This node does not hold everything this needs yet: wait for it to catch up with the others, then try again.",
    "Ce nœud ne détient pas encore tout ce qu’il faut : attendez qu’il rattrape les autres, puis réessayez.",
    "لا تملك هذه العقدة بعدُ كل ما يلزم: انتظر حتى تلحق بالعقد الأخرى، ثم حاول مرة أخرى."
);
tr!(
    E_NOT_OWN_SUBMISSION,
    "This work was sent to another requester: only they may accept or reject it.",
    "Ce travail a été envoyé à un autre demandeur : lui seul peut l’accepter ou le refuser.",
    "أُرسل هذا العمل إلى صاحب طلب آخر: لا يقبله أو يرفضه إلا هو."
);
tr!(
    E_NOT_ASSIGNED_HERE,
    "This work is not assigned to you, so its result cannot be sent from here.",
    "Ce travail ne vous est pas attribué : son résultat ne peut pas être envoyé d’ici.",
    "هذا العمل غير مسند إليك، فلا يمكن إرسال نتيجته من هنا."
);
tr!(
    E_NOT_OWN_WORK,
    "This work is another member’s: only the member whose work was rejected may appeal.",
    "Ce travail est celui d’un autre membre : seul le membre dont le travail a été refusé peut faire appel.",
    "هذا العمل لعضو آخر: لا يطعن إلا العضو الذي رُفض عمله."
);
tr!(
    E_NOTHING_TO_APPEAL,
    "This work has no rejection that counts: there is nothing to appeal.",
    "Ce travail n’a pas de refus qui compte : il n’y a rien à contester.",
    "لا رفض معتبرًا لهذا العمل: فلا شيء يُطعن فيه."
);
tr!(
    E_NO_SEAT,
    "You hold no open seat on this appeal’s jury, so your vote would not count.",
    "Vous n’avez pas de siège ouvert dans le jury de cet appel : votre vote ne compterait pas.",
    "ليس لك مقعد مفتوح في هيئة هذا الطعن، فلن يُحتسب صوتك."
);
tr!(
    E_DEVICE_REVOKED,
    "This device was revoked: nothing it signs counts any more, so it writes nothing in this cooperative. Use another of your devices, or authorise a new one.",
    "Cet appareil a été révoqué : plus rien de ce qu’il signe ne compte, il n’écrit donc plus rien dans cette coopérative. Utilisez un autre de vos appareils, ou autorisez-en un nouveau.",
    "أُلغي هذا الجهاز: لم يعد يُحتسب شيء مما يوقّعه، فلا يكتب شيئًا في هذه التعاونية. استعمل جهازًا آخر من أجهزتك، أو أذن لجهاز جديد."
);
tr!(
    E_PAYMENT_ANSWERED,
    "You have already said whether this payment arrived.",
    "Vous avez déjà dit si ce paiement est arrivé.",
    "سبق أن أجبت عمّا إذا كان هذا الدفع قد وصل."
);
tr!(PREVIOUS, "Previous", "Précédents", "السابق");
tr!(SHOWING, "{}–{} of {}", "{}–{} sur {}", "{}–{} من {}");
// Appeals (docs/protocol.md 8.8).
tr!(
    REV_UPHELD,
    "Rejected, then upheld on appeal {}: owed as accepted work",
    "Refusée, puis admise en appel {} : due comme un travail accepté",
    "رُفضت، ثم قُبل الطعن فيها {}: تُستحق كعمل مقبول"
);
tr!(
    APPEAL,
    "Appeal to a jury of members",
    "Faire appel devant un jury de membres",
    "الطعن أمام هيئة من الأعضاء"
);
tr!(
    APPEAL_ANSWER,
    "Your answer to the reason: members drawn by lottery read it and decide. One appeal per rejection.",
    "Votre réponse au motif : des membres tirés au sort la lisent et décident. Un seul appel par refus.",
    "ردّك على السبب: يقرؤه أعضاء تختارهم القرعة ويفصلون فيه. طعن واحد لكل رفض."
);
tr!(
    BLANK_ANSWER,
    "An appeal needs your answer to the reason.",
    "Un appel demande votre réponse au motif.",
    "يحتاج الطعن إلى ردّك على السبب."
);
tr!(APPEAL_STATE, "Appeal: {}", "Appel : {}", "الطعن: {}");
tr!(
    APPEALS_LINE,
    "appeals of its rejections: {} ({} upheld, {} dismissed)",
    "appels de ses refus : {} (admis : {}, rejetés : {})",
    "الطعون في رفضه: {} (مقبولة: {}، مرفوضة: {})"
);
tr!(
    JURY,
    "Appeals you judge as a juror",
    "Appels que vous jugez comme juré",
    "طعون تفصل فيها بصفتك عضوًا في الهيئة"
);
tr!(REASON_GIVEN, "Reason", "Motif", "السبب");
tr!(
    REASON_WITH_RESULT,
    "sealed: the member's node sends it to the jury with the result",
    "scellé : le nœud du membre l'envoie au jury avec le résultat",
    "مختوم: ترسله عقدة العضو إلى الهيئة مع النتيجة"
);
tr!(
    MEMBER_ANSWER,
    "Member's answer",
    "Réponse du membre",
    "ردّ العضو"
);
tr!(
    REQUESTER_REPLY,
    "Requester's reply",
    "Réponse du demandeur",
    "ردّ صاحب الطلب"
);
tr!(
    UPHOLD,
    "Uphold: the rejection is void and the work is paid",
    "Admettre : le refus est annulé et le travail payé",
    "قبول الطعن: يُلغى الرفض ويُدفع أجر العمل"
);
tr!(
    DISMISS,
    "Dismiss: the rejection stands",
    "Rejeter : le refus est maintenu",
    "ردّ الطعن: يبقى الرفض"
);
tr!(VOTE_BY, "Vote by {}", "Votez avant {}", "صوّت قبل {}");
tr!(YOUR_VOTE, "Your vote: {}", "Votre vote : {}", "صوتك: {}");
tr!(
    OUTCOME_DRAWING,
    "the jury is being drawn",
    "le jury est en cours de tirage",
    "جارٍ سحب الهيئة"
);
tr!(
    OUTCOME_OPEN,
    "the jury is voting",
    "le jury vote",
    "الهيئة تصوّت"
);
tr!(OUTCOME_UPHELD, "upheld", "admis", "مقبول");
tr!(
    OUTCOME_DISMISSED,
    "dismissed: the rejection stands",
    "rejeté : le refus est maintenu",
    "مردود: يبقى الرفض"
);
tr!(
    OUTCOME_NO_JURY,
    "no jury could be formed: the rejection stands",
    "aucun jury n'a pu être formé : le refus est maintenu",
    "تعذّر تشكيل هيئة: يبقى الرفض"
);
tr!(
    OUTCOME_DEFAULT,
    "upheld by default: no juror decided in time",
    "admis par défaut : aucun juré n'a tranché à temps",
    "مقبول افتراضيًا: لم يفصل أي عضو في الوقت المحدد"
);

tr!(
    REPLY_TO_JURY,
    "Your answer to the appeal, once: the jury reads it with your reason and the member's answer.",
    "Votre réponse à l'appel, une seule fois : le jury la lit avec votre motif et la réponse du membre.",
    "ردّك على الطعن، مرة واحدة: تقرؤه الهيئة مع سببك وردّ العضو."
);
tr!(
    REPLY,
    "Answer the appeal",
    "Répondre à l'appel",
    "الرد على الطعن"
);
tr!(
    BLANK_REPLY,
    "An answer to an appeal needs a text.",
    "Une réponse à un appel demande un texte.",
    "يحتاج الرد على الطعن إلى نص."
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_take_each_languages_plural_forms() {
        assert_eq!(Lang::En.n(&CLAIMS_N, 1, &[]), "1 claim");
        assert_eq!(Lang::En.n(&CLAIMS_N, 0, &[]), "0 claims");
        assert_eq!(Lang::En.n(&CLAIMS_N, 2, &[]), "2 claims");
        assert_eq!(Lang::Fr.n(&CLAIMS_N, 0, &[]), "0 candidature");
        assert_eq!(Lang::Fr.n(&CLAIMS_N, 1, &[]), "1 candidature");
        assert_eq!(
            Lang::Fr.n(&CLAIMS_N, 1200, &[]),
            "1\u{202f}200 candidatures"
        );
        let ar = |n| Lang::Ar.n(&CLAIMS_N, n, &[]);
        assert_eq!(ar(0), "لا طلبات");
        assert_eq!(ar(1), "طلب واحد");
        assert_eq!(ar(2), "طلبان");
        assert_eq!(ar(3), "3 طلبات");
        assert_eq!(ar(10), "10 طلبات");
        assert_eq!(ar(11), "11 طلبًا");
        assert_eq!(ar(99), "99 طلبًا");
        assert_eq!(ar(100), "100 طلب");
        assert_eq!(ar(102), "102 طلب");
        assert_eq!(ar(103), "103 طلبات");
        assert_eq!(ar(111), "111 طلبًا");
        assert_eq!(
            Lang::En.n(&VOID_LINE, 1, &[]),
            "1 assignment that left out claims"
        );
        assert_eq!(Lang::Fr.n(&PEERS_N, 0, &[]), "0 pair connecté");
    }

    #[test]
    fn numbers_are_read_in_every_digit_and_separator_we_write() {
        let n = |s: &str| typed_number(s);
        assert_eq!(n("12.50").as_deref(), Some("12.50"));
        assert_eq!(n("12,50").as_deref(), Some("12.50"));
        assert_eq!(n(" 1 000,00 ").as_deref(), Some("1000.00"));
        assert_eq!(n("1\u{202f}000,00").as_deref(), Some("1000.00"));
        assert_eq!(n("1\u{a0}000,5").as_deref(), Some("1000.5"));
        assert_eq!(n("1.234,50").as_deref(), Some("1234.50"));
        assert_eq!(n("1,234.50").as_deref(), Some("1234.50"));
        assert_eq!(n("1.000.000").as_deref(), Some("1000000"));
        assert_eq!(n("١٢٫٥٠").as_deref(), Some("12.50"));
        assert_eq!(n("١٬٠٠٠٫٥").as_deref(), Some("1000.5"));
        assert_eq!(n("١٢,٥").as_deref(), Some("12.5"));
        assert_eq!(n("۱۲۳۴٫۵").as_deref(), Some("1234.5"));
        assert_eq!(n("12a"), None);
        assert_eq!(n(""), None);
        assert_eq!(n(",5"), None);
        assert_eq!(n("5,"), None);
        assert_eq!(n("-5"), None);
        assert_eq!(typed_whole("٤٥"), Some(45));
        assert_eq!(typed_whole("۴۵"), Some(45));
        assert_eq!(typed_whole("1 000"), Some(1000));
        assert_eq!(typed_whole("1.000"), Some(1000));
        assert_eq!(typed_whole("12,5"), None);
        assert_eq!(typed_whole("a while"), None);
    }

    #[test]
    fn accept_language_picks_the_best_language_spoken() {
        assert_eq!(Lang::negotiate(Some("fr-FR,fr;q=0.9,en;q=0.8")), Lang::Fr);
        assert_eq!(Lang::negotiate(Some("de-DE,ar;q=0.5,fr;q=0.4")), Lang::Ar);
        assert_eq!(Lang::negotiate(Some("en;q=0.2, fr;q=0.7")), Lang::Fr);
        assert_eq!(Lang::negotiate(Some("de, fr;q=0")), Lang::En);
        assert_eq!(Lang::negotiate(Some(";;;,q=,")), Lang::En);
        assert_eq!(Lang::negotiate(None), Lang::En);
    }

    #[test]
    fn amounts_are_written_per_language() {
        assert_eq!(Lang::En.money(123_450, "EUR"), "€1,234.50");
        assert_eq!(Lang::Fr.money(123_450, "EUR"), "1\u{202f}234,50\u{a0}€");
        assert_eq!(Lang::Ar.money(123_450, "MAD"), "1.234,50\u{a0}MAD");
        assert_eq!(Lang::En.decimal(5, "EUR"), "0.05");
        // Three decimals (Jordanian dinar) and none (CFA franc), in each language.
        assert_eq!(Lang::En.money(1_234_500, "JOD"), "1,234.500\u{a0}JOD");
        assert_eq!(
            Lang::Fr.money(1_234_500, "JOD"),
            "1\u{202f}234,500\u{a0}JOD"
        );
        assert_eq!(Lang::Ar.money(12_345, "JOD"), "12,345\u{a0}JOD");
        assert_eq!(Lang::Ar.rate(12_500, "TND"), "12,500\u{a0}TND/س");
        assert_eq!(Lang::En.money(1_234_500, "XOF"), "1,234,500\u{a0}XOF");
        assert_eq!(Lang::Fr.rate(1_500, "XOF"), "1\u{202f}500\u{a0}XOF/h");
        assert_eq!(Lang::Ar.money(7, "XAF"), "7\u{a0}XAF");
        assert_eq!(Lang::En.decimal(0, "JPY"), "0");
        assert_eq!(Lang::En.int(1_000_000), "1,000,000");
    }

    #[test]
    fn rules_read_in_units() {
        assert_eq!(Lang::En.span(3_600_000), "1 hour");
        assert_eq!(Lang::En.span(48 * 3_600_000), "48 hours");
        assert_eq!(Lang::Fr.span(7 * 86_400_000), "7 jours");
        assert_eq!(Lang::Ar.span(2 * 3_600_000), "ساعتان");
        assert_eq!(Lang::Ar.span(10 * 60_000), "10 دقائق");
        assert_eq!(Lang::En.span(90_500), "1 min");
        assert_eq!(Lang::En.size(65_536), "64 KB");
        assert_eq!(Lang::Fr.size(25 * 1024 * 1024), "25 Mo");
        assert_eq!(Lang::Fr.size(1536), "1,5 Ko");
    }

    #[test]
    fn dates_are_civil_utc() {
        // 2026-11-28 15:10:30 UTC.
        let t = 1_795_878_630_000;
        assert_eq!(Lang::En.datetime(t), "28 Nov 2026, 15:10 UTC");
        assert_eq!(Lang::Fr.datetime(t), "28 nov. 2026, 15:10 UTC");
        assert_eq!(iso(t), "2026-11-28T15:10:30Z");
        assert_eq!(civil(0), (1970, 1, 1));
        assert_eq!(civil(11_016), (2000, 2, 29));
        assert_eq!(Lang::En.relative(65_000, 0), "in 1 min");
        assert_eq!(Lang::Fr.relative(0, 3_900_000), "il y a 1 h 5 min");
    }
}
