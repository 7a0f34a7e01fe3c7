//! Round trips through a real QR decoder (`rqrr`): what we draw must scan back to the text.

use std::io::Cursor;

use shared::pass::{self, KeySet, PassClaims, PassSigner};
use time::{Duration, OffsetDateTime};

use super::*;
use qrcode::Color;

/// A freshly minted real pass, the key set that trusts its signer, and an instant inside
/// its validity window.
fn minted_pass() -> (String, KeySet, OffsetDateTime, PassClaims) {
    let (signer, _pkcs8) = PassSigner::generate().expect("generate key");
    let now = OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .expect("0 ns");
    let claims = PassClaims {
        voucher_id: shared::VoucherId::new(),
        school: "050140001238".parse().expect("valid BIN"),
        valid_from: now - Duration::minutes(1),
        valid_until: now + Duration::hours(8),
        nonce: signer.nonce().expect("nonce"),
    };
    let text = signer.mint(&claims).expect("mint");
    let mut keys = KeySet::new();
    keys.insert(signer.public_key());
    (text, keys, now, claims)
}

/// Decodes a PNG into (width, height, 8-bit luminance per pixel), checking its format.
fn decode_png(bytes: &[u8]) -> (u32, u32, Vec<u8>) {
    let mut decoder = png::Decoder::new(Cursor::new(bytes));
    // Unpack 1-bit samples to one byte each (0 or 255).
    decoder.set_transformations(png::Transformations::EXPAND);
    let mut reader = decoder.read_info().expect("a valid PNG header");
    {
        let info = reader.info();
        assert_eq!(info.color_type, png::ColorType::Grayscale);
        assert_eq!(info.bit_depth, png::BitDepth::One);
    }
    let mut buf = vec![0; reader.output_buffer_size().expect("buffer size")];
    let frame = reader.next_frame(&mut buf).expect("a valid PNG image");
    assert_eq!(frame.color_type, png::ColorType::Grayscale);
    assert_eq!(frame.bit_depth, png::BitDepth::Eight);
    let stride = frame.line_size;
    let (w, h) = (frame.width, frame.height);
    let mut luma = Vec::with_capacity((w * h) as usize);
    for y in 0..h as usize {
        luma.extend_from_slice(&buf[y * stride..y * stride + w as usize]);
    }
    (w, h, luma)
}

/// Scans an 8-bit greyscale image with `rqrr`; expects exactly one code.
fn scan(w: u32, h: u32, luma: &[u8]) -> (rqrr::MetaData, String) {
    let mut img = rqrr::PreparedImage::prepare_from_greyscale(w as usize, h as usize, |x, y| {
        luma[y * w as usize + x]
    });
    let grids = img.detect_grids();
    assert_eq!(grids.len(), 1, "expected exactly one QR code in the image");
    grids[0].decode().expect("the QR code decodes")
}

fn scan_png(bytes: &[u8]) -> (u32, u32, rqrr::MetaData, String) {
    let (w, h, luma) = decode_png(bytes);
    let (meta, text) = scan(w, h, &luma);
    (w, h, meta, text)
}

fn dark_modules(code: &QrMatrix) -> usize {
    code.to_colors()
        .iter()
        .filter(|c| **c == Color::Dark)
        .count()
}

#[test]
fn a_minted_pass_scans_back_from_the_png_and_verifies() {
    let (text, keys, now, claims) = minted_pass();
    assert_eq!(text.len(), 163);

    let png = png(&text, DEFAULT_MODULE_PX).expect("render PNG");
    let (w, h, meta, decoded) = scan_png(&png);

    let modules = qr_code(&text).expect("encode").width() as u32;
    assert_eq!((w, h), ((modules + 8) * 8, (modules + 8) * 8));
    assert_eq!(decoded, text);
    assert!(meta.version.0 <= 10, "version {} > 10", meta.version.0);
    // Format information stores the level as 2 bits: 00 is M.
    assert_eq!(meta.ecc_level, 0, "error correction level is not M");

    let verified = pass::verify(&decoded, &keys, now).expect("the scanned pass verifies");
    assert_eq!(verified.claims, claims);
}

#[test]
fn a_pass_uses_alphanumeric_mode_and_fits_version_10() {
    let (text, ..) = minted_pass();
    let code = qr_code(&text).expect("encode");
    assert_eq!(code.error_correction_level(), EcLevel::M);
    let Version::Normal(v) = code.version() else {
        panic!("unexpected Micro QR version {:?}", code.version());
    };
    assert!(v <= 10, "version {v} > 10");
    // 163 characters in byte mode need version 9 at level M (capacity 180 bytes; version 8
    // holds 152); in alphanumeric mode version 7 (capacity 178). Anything above 7 means the
    // alphanumeric mode was lost.
    assert_eq!(v, 7);
}

#[test]
fn png_dimensions_follow_the_module_size_and_scan_at_small_sizes() {
    let (text, ..) = minted_pass();
    let modules = qr_code(&text).expect("encode").width() as u32;
    for module_px in [1, 3, 4, 8, 11] {
        let png = png(&text, module_px).expect("render PNG");
        let (w, h, luma) = decode_png(&png);
        let side = (modules + 2 * QUIET_ZONE) * module_px;
        assert_eq!((w, h), (side, side), "module_px = {module_px}");
        assert!(
            luma.iter().all(|&p| p == 0 || p == 255),
            "pure black and white"
        );
        // The quiet zone is white all round; the finder pattern's corner is black.
        let q = (QUIET_ZONE * module_px) as usize;
        let at = |x: usize, y: usize| luma[y * w as usize + x];
        for i in 0..w as usize {
            for (x, y) in [(i, 0), (0, i), (i, q - 1), (q - 1, i)] {
                assert_eq!(
                    at(x, y),
                    255,
                    "quiet zone pixel ({x},{y}) at {module_px} px"
                );
            }
            let far = w as usize - 1;
            for (x, y) in [(i, far), (far, i), (i, far + 1 - q), (far + 1 - q, i)] {
                assert_eq!(
                    at(x, y),
                    255,
                    "quiet zone pixel ({x},{y}) at {module_px} px"
                );
            }
        }
        assert_eq!(at(q, q), 0, "finder corner at {module_px} px");
        if module_px >= 3 {
            let (_, decoded) = scan(w, h, &luma);
            assert_eq!(decoded, text, "scan at {module_px} px per module");
        }
    }
}

#[test]
fn png_has_exactly_the_dark_area_of_the_code() {
    let (text, ..) = minted_pass();
    let code = qr_code(&text).expect("encode");
    let module_px = 5;
    let (_, _, luma) = decode_png(&png(&text, module_px).expect("render PNG"));
    let black = luma.iter().filter(|&&p| p == 0).count();
    assert_eq!(
        black,
        dark_modules(&code) * (module_px * module_px) as usize
    );
}

#[test]
fn unreasonable_module_sizes_are_refused() {
    let (text, ..) = minted_pass();
    assert!(matches!(
        png(&text, 0),
        Err(RenderError::BadModuleSize { got: 0, .. })
    ));
    assert!(matches!(
        png(&text, 10_000),
        Err(RenderError::BadModuleSize { got: 10_000, .. })
    ));
    // The largest size allowed still fits the pixel budget.
    let Err(RenderError::BadModuleSize { max, .. }) = png(&text, 0) else {
        unreachable!()
    };
    let (w, _, _) = decode_png(&png(&text, max).expect("largest allowed size"));
    assert!(w <= MAX_IMAGE_PX);
}

/// Reads the module grid back from our SVG path (`M{x} {y}h{n}v1h-{n}z` runs).
fn svg_grid(svg: &str, side: usize) -> Vec<Vec<bool>> {
    let start = svg.find(" d=\"").expect("a path") + 4;
    let end = start + svg[start..].find('"').expect("end of path");
    let mut grid = vec![vec![false; side]; side];
    for run in svg[start..end].split('M').filter(|r| !r.is_empty()) {
        let body = run.strip_suffix('z').expect("closed run");
        let (xy, rest) = body.split_once('h').expect("h");
        let (x, y) = xy.split_once(' ').expect("x y");
        let (n, back) = rest.split_once("v1h-").expect("v1h-");
        assert_eq!(n, back, "run {run} is not a rectangle");
        let (x, y, n): (usize, usize, usize) = (
            x.parse().expect("x"),
            y.parse().expect("y"),
            n.parse().expect("n"),
        );
        assert!(n > 0);
        for cell in &mut grid[y][x..x + n] {
            assert!(!*cell, "overlapping runs at row {y}");
            *cell = true;
        }
    }
    grid
}

#[test]
fn svg_draws_exactly_the_code_and_scans_back() {
    let (text, keys, now, _) = minted_pass();
    let code = qr_code(&text).expect("encode");
    let svg = svg(&text).expect("render SVG");

    assert!(svg.starts_with("<svg") || svg.starts_with("<?xml"));
    assert!(svg.ends_with("</svg>"));
    let side = code.width() + 2 * QUIET_ZONE as usize;
    assert!(svg.contains(&format!(r#"viewBox="0 0 {side} {side}""#)));
    assert!(svg.contains(r#"shape-rendering="crispEdges""#));
    // Self-contained: the namespace is the only URL, nothing is linked or embedded.
    assert_eq!(svg.matches("http").count(), 1);
    assert!(!svg.contains("href") && !svg.contains("url(") && !svg.contains("<image"));

    // Module for module, the path is the code, quiet zone left white.
    let grid = svg_grid(&svg, side);
    let q = QUIET_ZONE as usize;
    let mut drawn = 0;
    for (y, row) in grid.iter().enumerate() {
        for (x, &dark) in row.iter().enumerate() {
            let inside = (q..q + code.width()).contains(&x) && (q..q + code.width()).contains(&y);
            let expected = inside && code.is_dark(x - q, y - q);
            assert_eq!(dark, expected, "module ({x},{y})");
            drawn += usize::from(dark);
        }
    }
    assert_eq!(drawn, dark_modules(&code));

    // Rasterise the path and scan it like a phone camera would.
    let px = 6;
    let w = (side * px) as u32;
    let luma: Vec<u8> = (0..side * px)
        .flat_map(|y| (0..side * px).map(move |x| (x, y)))
        .map(|(x, y)| if grid[y / px][x / px] { 0 } else { 255 })
        .collect();
    let (_, decoded) = scan(w, w, &luma);
    assert_eq!(decoded, text);
    pass::verify(&decoded, &keys, now).expect("the scanned pass verifies");
}

#[test]
fn text_too_long_for_any_qr_code_is_an_error_not_a_panic() {
    // Version 40-M holds 3391 alphanumeric characters and 2331 bytes.
    let alnum = "A".repeat(3392);
    assert!(matches!(
        png(&alnum, DEFAULT_MODULE_PX),
        Err(RenderError::TooLong { len: 3392 })
    ));
    assert!(matches!(svg(&alnum), Err(RenderError::TooLong { .. })));
    let bytes = "a".repeat(2332);
    assert!(matches!(
        png(&bytes, DEFAULT_MODULE_PX),
        Err(RenderError::TooLong { len: 2332 })
    ));
    assert!(matches!(svg(&bytes), Err(RenderError::TooLong { .. })));
    // The limit itself still renders.
    assert_eq!(
        qr_code(&"A".repeat(3391)).expect("fits").version(),
        Version::Normal(40)
    );
}

#[test]
fn other_texts_fall_back_to_automatic_modes() {
    let text = "https://wallet.example.kz/p?id=42&lang=kk";
    let png = png(text, 4).expect("render PNG");
    let (_, _, _, decoded) = scan_png(&png);
    assert_eq!(decoded, text);
}
