//! Helpers for the wallet, school and integration routes: people with valid IINs, eligibility
//! lists, the demo's people, the demo clock in term time, the state a test compares before
//! and after, and reading QR passes back with real decoders (`rqrr` always, `zbarimg` when
//! it is installed).

use std::io::Cursor;
use std::process::{Command, Stdio};

use reqwest::Method;
use serde_json::{json, Value};
use shared::pass::{KeySet, PublicKey};
use shared::{Bin, Iin, Sex};
use time::format_description::well_known::Rfc3339;
use time::macros::offset;
use time::{Date, Month, OffsetDateTime, UtcOffset};

use super::{Resp, Server};

/// Astana time (UTC+5): service days and months of the server.
pub const ASTANA: UtcOffset = offset!(+5);

/// A valid IIN of someone born on `y-m-d`: the first issuable serial from `serial`.
pub fn iin(y: i32, m: Month, d: u8, sex: Sex, serial: u16) -> Iin {
    let date = Date::from_calendar_date(y, m, d).expect("a real date");
    (serial..=9999)
        .find_map(|s| Iin::generate(date, sex, s))
        .expect("an issuable serial")
}

/// The demo's people, generated the way `wallet-server/src/demo.rs` does (serials from 1234).
pub mod demo {
    use super::iin;
    use shared::{Iin, Sex};
    use time::Month;

    /// Сапарова Гульнара: mother of Айгерим (2А, voucher activated) and Нурлан (7Б).
    pub fn mother() -> Iin {
        iin(1988, Month::May, 12, Sex::Female, 1234)
    }
    /// Сапаров Ерлан: father of Айгерим and Нурлан.
    pub fn father() -> Iin {
        iin(1986, Month::February, 1, Sex::Male, 1234)
    }
    /// Ким Ольга: mother of Дана (1В, voucher formed, not activated).
    pub fn kim_mother() -> Iin {
        iin(1990, Month::July, 7, Sex::Female, 1234)
    }
    /// Омарова Алия: mother of Тимур, at the other demo school (voucher formed).
    pub fn omarova() -> Iin {
        iin(1992, Month::April, 18, Sex::Female, 1234)
    }
    pub fn aigerim() -> Iin {
        iin(2018, Month::March, 14, Sex::Female, 1234)
    }
    pub fn nurlan() -> Iin {
        iin(2013, Month::June, 2, Sex::Male, 1234)
    }
    pub fn dana() -> Iin {
        iin(2019, Month::October, 21, Sex::Female, 1234)
    }
    pub fn timur() -> Iin {
        iin(2017, Month::September, 9, Sex::Male, 1234)
    }
}

/// A valid BIN starting with `first` (the last given digits are bumped until a check digit
/// exists).
pub fn bin(first: [u8; 11]) -> Bin {
    let mut digits = first;
    for _ in 0..100 {
        if let Some(bin) = Bin::generate(&digits) {
            return bin;
        }
        digits[10] = (digits[10] + 1) % 10;
        if digits[10] == 0 {
            digits[9] = (digits[9] + 1) % 10;
        }
    }
    panic!("no valid BIN near {first:?}")
}

/// `0412******21`
pub fn is_masked_iin(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 12
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4..10].iter().all(|&c| c == b'*')
        && b[10..].iter().all(u8::is_ascii_digit)
}

/// A representative row of an eligibility list.
pub fn rep(iin: &str, full_name: &str, relation: &str, phone: Option<&str>) -> Value {
    let mut rep = json!({"iin": iin, "full_name": full_name, "relation": relation});
    if let Some(phone) = phone {
        rep["phone"] = json!(phone);
    }
    rep
}

/// A student row of an eligibility list.
pub fn student(
    iin: &str,
    full_name: &str,
    grade: i64,
    class_label: &str,
    category: &str,
    representatives: Vec<Value>,
) -> Value {
    json!({
        "iin": iin,
        "full_name": full_name,
        "grade": grade,
        "class_label": class_label,
        "category": category,
        "representatives": representatives,
    })
}

/// An eligibility list (DESIGN §7.1).
pub fn list(bin: &str, school_name: &str, period: &str, students: Vec<Value>) -> Value {
    json!({
        "school": {"bin": bin, "name": school_name},
        "programme": "school_meals",
        "period": period,
        "students": students,
    })
}

pub fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).expect("format RFC 3339")
}

pub fn parse_rfc3339(s: &str) -> OffsetDateTime {
    OffsetDateTime::parse(s, &Rfc3339).unwrap_or_else(|e| panic!("{s:?} is not RFC 3339: {e}"))
}

/// The server's notion of "now" in term time: every `--demo` server starts on the story
/// clock ([`super::story_now`], a Tuesday in November), so vouchers formed from lists of
/// [`Term::period`] are valid today and passes can be minted, whatever the real date.
#[derive(Debug, Clone, Copy)]
pub struct Term;

impl Term {
    /// The term of a server started on the story clock (one that has not moved its clock).
    pub async fn enter(_server: &Server) -> Term {
        Term
    }

    /// The server's clock (to well under a second).
    pub fn now(&self) -> OffsetDateTime {
        super::story_now()
    }

    /// The server's service day.
    pub fn today(&self) -> Date {
        self.now().to_offset(ASTANA).date()
    }

    /// The current month, `YYYY-MM`.
    pub fn period(&self) -> String {
        let today = self.today();
        format!("{:04}-{:02}", today.year(), u8::from(today.month()))
    }

    /// First and last day of the school year vouchers formed now run for.
    pub fn school_year(&self) -> (String, String) {
        let day = self.today();
        let start = if day.month() >= Month::September {
            day.year()
        } else {
            day.year() - 1
        };
        (format!("{start}-09-01"), format!("{}-05-31", start + 1))
    }
}

/// `GET /v1/wallet/vouchers` as this parent.
pub async fn wallet(server: &Server, token: &str) -> Value {
    server
        .get("/v1/wallet/vouchers", Some(token))
        .await
        .ok_json()
}

/// `GET /v1/schools/{bin}/vouchers` as the school's social pedagogue.
pub async fn school_view(server: &Server, bin: &str) -> Value {
    let staff = server.staff_token("social_pedagogue", bin).await;
    server
        .get(&format!("/v1/schools/{bin}/vouchers"), Some(&staff))
        .await
        .ok_json()
}

/// The whole outbox (newest first).
pub async fn outbox(server: &Server) -> Value {
    let integration = server.integration_token().await;
    server
        .get("/v1/integration/outbox?limit=1000", Some(&integration))
        .await
        .ok_json()
}

/// The ids of a `{"vouchers": [...]}` answer.
pub fn voucher_ids(list: &Value) -> Vec<String> {
    list["vouchers"]
        .as_array()
        .unwrap_or_else(|| panic!("no vouchers in {list}"))
        .iter()
        .map(|v| v["id"].as_str().expect("voucher id").to_string())
        .collect()
}

/// The voucher of a `{"vouchers": [...]}` answer with this id.
pub fn find_voucher<'a>(list: &'a Value, id: &str) -> &'a Value {
    list["vouchers"]
        .as_array()
        .and_then(|vs| vs.iter().find(|v| v["id"] == id))
        .unwrap_or_else(|| panic!("voucher {id} not in {list:#}"))
}

/// `POST /v1/integration/eligibility-lists` as an integration.
pub async fn send_list(server: &Server, list: &Value) -> Resp {
    let integration = server.integration_token().await;
    server
        .post_json(
            "/v1/integration/eligibility-lists",
            Some(&integration),
            list,
        )
        .await
}

/// `POST /v1/wallet/vouchers/{id}/passes` with this `Accept` header (none when `None`).
pub async fn mint(server: &Server, token: &str, voucher: &str, accept: Option<&str>) -> Resp {
    let path = format!("/v1/wallet/vouchers/{voucher}/passes");
    let mut req = server.builder(Method::POST, &path).bearer_auth(token);
    if let Some(accept) = accept {
        req = req.header("accept", accept);
    }
    server
        .send(req, &format!("POST {path} (accept {accept:?})"))
        .await
}

/// `POST /v1/wallet/vouchers/{id}/activate`.
pub async fn activate(server: &Server, token: &str, voucher: &str) -> Resp {
    server
        .request(
            Method::POST,
            &format!("/v1/wallet/vouchers/{voucher}/activate"),
            Some(token),
            None,
        )
        .await
}

/// The published pass keys as a verifier builds them (`KeySet::insert_published`, which
/// checks every stated kid against its key), and the current kid.
pub async fn pass_keys(server: &Server) -> (KeySet, String) {
    let body = server.get("/v1/pass-keys", None).await.ok_json();
    let keys: Vec<PublicKey> =
        serde_json::from_value(body["keys"].clone()).unwrap_or_else(|e| panic!("{e}: {body}"));
    assert!(!keys.is_empty(), "no pass keys: {body}");
    let mut set = KeySet::new();
    for key in &keys {
        assert_eq!(key.kid.len(), 8, "kid {:?}", key.kid);
        assert!(
            key.public_key.len() == 64 && key.public_key.chars().all(|c| c.is_ascii_hexdigit()),
            "public key is not 32 bytes of hex: {:?}",
            key.public_key
        );
        set.insert_published(key)
            .unwrap_or_else(|e| panic!("published key {key:?} refused: {e}"));
    }
    let current = body["current"]
        .as_str()
        .unwrap_or_else(|| panic!("no current kid: {body}"))
        .to_string();
    assert!(
        keys.iter().any(|k| k.kid == current),
        "current kid {current} is not among the keys: {body}"
    );
    (set, current)
}

/// Decodes a PNG to 8-bit luminance, whatever its colour type and depth.
pub fn png_luma(bytes: &[u8]) -> (usize, usize, Vec<u8>) {
    let mut decoder = png::Decoder::new(Cursor::new(bytes));
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder.read_info().expect("a valid PNG header");
    let mut buf = vec![0; reader.output_buffer_size().expect("buffer size")];
    let frame = reader.next_frame(&mut buf).expect("a valid PNG image");
    assert_eq!(
        frame.bit_depth,
        png::BitDepth::Eight,
        "after EXPAND|STRIP_16"
    );
    let channels = match frame.color_type {
        png::ColorType::Grayscale => 1,
        png::ColorType::GrayscaleAlpha => 2,
        png::ColorType::Rgb => 3,
        png::ColorType::Rgba => 4,
        png::ColorType::Indexed => panic!("indexed colour survived EXPAND"),
    };
    let (w, h) = (frame.width as usize, frame.height as usize);
    let mut luma = Vec::with_capacity(w * h);
    for y in 0..h {
        let line = &buf[y * frame.line_size..][..w * channels];
        for px in line.chunks(channels) {
            let value = match channels {
                1 | 2 => px[0],
                _ => ((u16::from(px[0]) + u16::from(px[1]) + u16::from(px[2])) / 3) as u8,
            };
            luma.push(value);
        }
    }
    (w, h, luma)
}

/// The text of the one QR code in a PNG, read with the pure-Rust decoder `rqrr`.
pub fn rqrr_decode(png_bytes: &[u8]) -> String {
    let (w, h, luma) = png_luma(png_bytes);
    let mut img = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| luma[y * w + x]);
    let grids = img.detect_grids();
    assert_eq!(grids.len(), 1, "expected exactly one QR code in the PNG");
    let (_meta, text) = grids[0].decode().expect("rqrr decodes the QR code");
    text
}

/// The text of the QR code in a PNG as `zbarimg -q --raw` (zbar-tools) reads it; `None`
/// when zbarimg is not installed — unless `REQUIRE_ZBAR=1`, which makes that a failure.
pub fn zbar_decode(png_bytes: &[u8]) -> Option<String> {
    let installed = Command::new("zbarimg")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok();
    if !installed {
        if std::env::var("REQUIRE_ZBAR").as_deref() == Ok("1") {
            panic!("REQUIRE_ZBAR=1 but zbarimg (Debian package zbar-tools) is not on PATH");
        }
        eprintln!("zbarimg not on PATH: decoding with rqrr only");
        return None;
    }
    let dir = tests::private_tempdir();
    let file = dir.path().join("pass.png");
    std::fs::write(&file, png_bytes).expect("write the PNG");
    let out = Command::new("zbarimg")
        .args(["-q", "--raw"])
        .arg(&file)
        .output()
        .expect("run zbarimg");
    assert!(
        out.status.success(),
        "zbarimg found no code ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).expect("zbarimg prints text");
    Some(text.trim_end_matches(['\r', '\n']).to_string())
}
