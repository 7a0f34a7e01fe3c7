//! Rendering a pass text as a QR code image: PNG for phone screens, SVG for the web and print.
//!
//! A pass text (`SW1:` + base45, see [`shared::pass`]) uses only the QR alphanumeric
//! character set, so it is encoded in alphanumeric mode (11 bits per two characters instead
//! of 16 in byte mode), at error correction M, in the smallest version that fits: the
//! 163-character pass fits version 7 (45×45 modules), well inside the version 10 promised by
//! DESIGN §4. Any other text falls back to the encoder's optimal segmentation.
//!
//! Both images draw black modules on white with the 4-module quiet zone the QR standard asks
//! for. The PNG is 1-bit greyscale with square modules of a whole number of pixels, so it
//! stays crisp on a phone screen; the SVG has one unit per module and scales freely.

use qrcode::bits::Bits;
use qrcode::types::QrError;
use qrcode::{EcLevel, QrCode, Version};

use super::qr::{self, QrMatrix};

/// Error correction level of every rendered code (recovers ~15% damage).
pub const EC_LEVEL: EcLevel = EcLevel::M;
/// Light border around the code, in modules (the minimum the QR standard requires).
pub const QUIET_ZONE: u32 = 4;
/// Default PNG module size in pixels: a pass (45 modules + quiet zone) becomes 424×424 px.
pub const DEFAULT_MODULE_PX: u32 = 8;
/// Largest PNG side in pixels we agree to render, to bound memory per request.
pub const MAX_IMAGE_PX: u32 = 4096;

/// Why a text could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("text of {len} bytes is too long for a QR code at error correction M")]
    TooLong { len: usize },
    #[error("text cannot be encoded as a QR code: {0}")]
    Qr(QrError),
    #[error("module size must be 1 to {max} pixels for this code, got {got}")]
    BadModuleSize { got: u32, max: u32 },
    #[error("PNG encoding failed: {0}")]
    Png(#[from] png::EncodingError),
}

/// The QR code of `text`: alphanumeric mode when the text allows it, error correction M,
/// smallest version that fits.
pub fn qr_code(text: &str) -> Result<QrMatrix, RenderError> {
    let data = text.as_bytes();
    let code = if data.iter().copied().all(is_alphanumeric) {
        alphanumeric_code(data)
    } else {
        QrCode::with_error_correction_level(data, EC_LEVEL).map(|c| QrMatrix::from(&c))
    };
    code.map_err(|e| match e {
        QrError::DataTooLong => RenderError::TooLong { len: data.len() },
        other => RenderError::Qr(other),
    })
}

/// The pass as a PNG: 1-bit greyscale, black modules on white, a quiet zone of
/// [`QUIET_ZONE`] modules, each module `module_px` × `module_px` pixels (use
/// [`DEFAULT_MODULE_PX`] unless the client asks otherwise). The image is
/// `(modules + 8) * module_px` pixels square.
pub fn png(text: &str, module_px: u32) -> Result<Vec<u8>, RenderError> {
    png_of(&qr_code(text)?, module_px)
}

/// The pass as a self-contained SVG document: one user unit per module, quiet zone included
/// in the `viewBox`, crisp edges, no external references. Its intrinsic size matches the
/// default PNG; CSS may scale it to any size.
pub fn svg(text: &str) -> Result<String, RenderError> {
    Ok(svg_of(&qr_code(text)?))
}

/// The characters QR alphanumeric mode can carry (ISO/IEC 18004 table 5).
fn is_alphanumeric(b: u8) -> bool {
    matches!(b, b'0'..=b'9' | b'A'..=b'Z' | b' ' | b'$' | b'%' | b'*' | b'+' | b'-' | b'.' | b'/' | b':')
}

/// Forces a single alphanumeric segment (the encoder's automatic segmentation would get the
/// same for a pass, but this way the mode is a decision, not a coincidence).
fn alphanumeric_code(data: &[u8]) -> Result<QrMatrix, QrError> {
    for v in 1..=40 {
        let mut bits = Bits::new(Version::Normal(v));
        let fitted = bits
            .push_alphanumeric_data(data)
            .and_then(|()| bits.push_terminator(EC_LEVEL));
        match fitted {
            Ok(()) => return qr::from_bits(bits, EC_LEVEL),
            Err(QrError::DataTooLong) => continue,
            Err(other) => return Err(other),
        }
    }
    Err(QrError::DataTooLong)
}

/// Side of the code in modules, quiet zone included.
fn side_modules(code: &QrMatrix) -> u32 {
    // A QR code is at most 177 modules wide: the cast is lossless.
    code.width() as u32 + 2 * QUIET_ZONE
}

/// Dark-module lookup in quiet-zone coordinates: anything outside the code is light.
struct Modules<'a>(&'a QrMatrix);

impl Modules<'_> {
    fn of(code: &QrMatrix) -> Modules<'_> {
        Modules(code)
    }

    fn is_dark(&self, x: u32, y: u32) -> bool {
        let q = QUIET_ZONE as usize;
        let (x, y) = (x as usize, y as usize);
        x >= q && y >= q && self.0.is_dark(x - q, y - q)
    }
}

fn png_of(code: &QrMatrix, module_px: u32) -> Result<Vec<u8>, RenderError> {
    let modules = side_modules(code);
    let max = (MAX_IMAGE_PX / modules).max(1);
    if module_px == 0 || module_px > max {
        return Err(RenderError::BadModuleSize {
            got: module_px,
            max,
        });
    }
    let side = modules * module_px;
    let grid = Modules::of(code);

    // 1-bit greyscale rows, most significant bit first, 1 = white. Every pixel row of one
    // module row is the same, so build it once and repeat it.
    let row_bytes = side.div_ceil(8) as usize;
    let mut pixels = Vec::with_capacity(row_bytes * side as usize);
    let mut row = Vec::with_capacity(row_bytes);
    for my in 0..modules {
        row.clear();
        let (mut acc, mut filled) = (0u8, 0u32);
        for mx in 0..modules {
            let light = u8::from(!grid.is_dark(mx, my));
            for _ in 0..module_px {
                acc = (acc << 1) | light;
                filled += 1;
                if filled == 8 {
                    row.push(acc);
                    (acc, filled) = (0, 0);
                }
            }
        }
        if filled > 0 {
            // Pad the last byte; the padding bits lie outside the image.
            row.push(acc << (8 - filled));
        }
        for _ in 0..module_px {
            pixels.extend_from_slice(&row);
        }
    }

    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, side, side);
    encoder.set_color(png::ColorType::Grayscale);
    encoder.set_depth(png::BitDepth::One);
    // Row filters do not help sub-byte images; plain deflate of the repeated rows does.
    encoder.set_filter(png::Filter::NoFilter);
    // fdeflate: several times faster than the default zlib level on these long runs of
    // identical bytes, at nearly the same size.
    encoder.set_compression(png::Compression::Fast);
    let mut writer = encoder.write_header()?;
    writer.write_image_data(&pixels)?;
    writer.finish()?;
    Ok(out)
}

fn svg_of(code: &QrMatrix) -> String {
    let modules = side_modules(code);
    let px = modules * DEFAULT_MODULE_PX;
    let grid = Modules::of(code);
    let mut svg = format!(
        concat!(
            r#"<svg xmlns="http://www.w3.org/2000/svg" version="1.1""#,
            r#" width="{px}" height="{px}" viewBox="0 0 {m} {m}" shape-rendering="crispEdges">"#,
            r##"<rect width="{m}" height="{m}" fill="#fff"/><path fill="#000" d=""##,
        ),
        px = px,
        m = modules,
    );
    // One closed rectangle per horizontal run of dark modules: `M{x} {y}h{n}v1h-{n}z`.
    for y in 0..modules {
        let mut x = 0;
        while x < modules {
            if !grid.is_dark(x, y) {
                x += 1;
                continue;
            }
            let start = x;
            while x < modules && grid.is_dark(x, y) {
                x += 1;
            }
            let run = (x - start).to_string();
            svg.push('M');
            svg.push_str(&start.to_string());
            svg.push(' ');
            svg.push_str(&y.to_string());
            svg.push('h');
            svg.push_str(&run);
            svg.push_str("v1h-");
            svg.push_str(&run);
            svg.push('z');
        }
    }
    svg.push_str(r#""/></svg>"#);
    svg
}

#[cfg(test)]
mod tests;
