//! QR symbols built for speed: the `qrcode` crate encodes the data and draws the symbol,
//! and this module picks the mask.
//!
//! The standard asks an encoder to try all eight masks and keep the one with the lowest
//! penalty. `qrcode` does that on its generic module canvas, and for a pass that search was
//! about 60% of the cost of a PNG pass. Here the same penalty rules — exactly as `qrcode`
//! scores them, so the same mask is chosen (a property test compares the two) — run over a
//! flat grid of booleans, several times faster.

use qrcode::bits::Bits;
use qrcode::canvas::{Canvas, MaskPattern};
use qrcode::types::QrError;
use qrcode::{Color, EcLevel, Version};

/// A finished QR symbol: dark or light modules, row by row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QrMatrix {
    dark: Vec<bool>,
    width: usize,
    version: Version,
    ec_level: EcLevel,
}

impl QrMatrix {
    pub fn width(&self) -> usize {
        self.width
    }

    pub fn version(&self) -> Version {
        self.version
    }

    pub fn error_correction_level(&self) -> EcLevel {
        self.ec_level
    }

    /// Whether the module at column `x`, row `y` is dark.
    pub fn is_dark(&self, x: usize, y: usize) -> bool {
        x < self.width && y < self.width && self.dark[y * self.width + x]
    }

    pub fn to_colors(&self) -> Vec<Color> {
        self.dark
            .iter()
            .map(|&d| if d { Color::Dark } else { Color::Light })
            .collect()
    }
}

impl From<&qrcode::QrCode> for QrMatrix {
    fn from(code: &qrcode::QrCode) -> Self {
        QrMatrix {
            dark: code
                .to_colors()
                .into_iter()
                .map(|c| c == Color::Dark)
                .collect(),
            width: code.width(),
            version: code.version(),
            ec_level: code.error_correction_level(),
        }
    }
}

/// The eight masks of a normal QR symbol, in the order `qrcode` tries them (on equal
/// penalties the first wins, as there).
const MASKS: [MaskPattern; 8] = [
    MaskPattern::Checkerboard,
    MaskPattern::HorizontalLines,
    MaskPattern::VerticalLines,
    MaskPattern::DiagonalLines,
    MaskPattern::LargeCheckerboard,
    MaskPattern::Fields,
    MaskPattern::Diamonds,
    MaskPattern::Meadow,
];

/// Encodes prepared bits (a normal QR version) into a symbol with the best mask.
pub fn from_bits(bits: Bits, ec_level: EcLevel) -> Result<QrMatrix, QrError> {
    let version = bits.version();
    let Version::Normal(_) = version else {
        return Err(QrError::InvalidVersion);
    };
    let data = bits.into_bytes();
    let (encoded, ec) = qrcode::ec::construct_codewords(&data, version, ec_level)?;
    let mut canvas = Canvas::new(version, ec_level);
    canvas.draw_all_functional_patterns();
    canvas.draw_data(&encoded, &ec);
    let width = usize::try_from(version.width()).map_err(|_| QrError::InvalidVersion)?;
    let mut best: Option<(u32, Vec<bool>)> = None;
    for mask in MASKS {
        let mut masked = canvas.clone();
        masked.apply_mask(mask);
        let dark: Vec<bool> = masked
            .into_colors()
            .into_iter()
            .map(|c| c == Color::Dark)
            .collect();
        let score = penalty(&dark, width);
        if best.as_ref().is_none_or(|(s, _)| score < *s) {
            best = Some((score, dark));
        }
    }
    let (_, dark) = best.ok_or(QrError::InvalidVersion)?;
    Ok(QrMatrix {
        dark,
        width,
        version,
        ec_level,
    })
}

/// The total penalty of a masked symbol, rule for rule as `qrcode` 0.14 computes it: on
/// rows and columns held as 64-bit masks when the symbol fits (every version up to 11;
/// a pass is version 7), otherwise module by module.
pub fn penalty(dark: &[bool], width: usize) -> u32 {
    if (7..=64).contains(&width) {
        penalty_bits(dark, width)
    } else {
        penalty_modules(dark, width)
    }
}

/// Rows and columns as bit masks, bit `i` = module `i` (dark = 1).
fn lines(dark: &[bool], width: usize) -> (Vec<u64>, Vec<u64>) {
    let mut rows = vec![0u64; width];
    let mut cols = vec![0u64; width];
    for y in 0..width {
        for x in 0..width {
            if dark[y * width + x] {
                rows[y] |= 1 << x;
                cols[x] |= 1 << y;
            }
        }
    }
    (rows, cols)
}

/// N1 of one line: every run of five or more same-coloured modules scores its length - 2.
fn run_penalty(line: u64, width: usize) -> u32 {
    let mut score = 0;
    let mut start = 0usize;
    while start < width {
        // Length of the run starting at `start`: count modules equal to the first one.
        let rest = line >> start;
        let same = if rest & 1 == 1 { !rest } else { rest };
        let run = (same.trailing_zeros() as usize).min(width - start);
        if run >= 5 {
            score += run as u32 - 2;
        }
        start += run;
    }
    score
}

/// N3 of one line: each 1:1:3:1:1 pattern (dark-light-dark-dark-dark-light-dark) lacking
/// dark modules within four on either side scores 40.
fn finder_penalty(line: u64, width: usize) -> u32 {
    const PATTERN: [bool; 7] = [true, false, true, true, true, false, true];
    let full = if width == 64 {
        u64::MAX
    } else {
        (1u64 << width) - 1
    };
    let mut starts = if width >= 7 {
        (1u64 << (width - 6)) - 1
    } else {
        0
    };
    for (k, &d) in PATTERN.iter().enumerate() {
        let shifted = line >> k;
        starts &= if d { shifted } else { !shifted & (full >> k) };
    }
    let mut score = 0;
    while starts != 0 {
        let j = starts.trailing_zeros() as usize;
        starts &= starts - 1;
        let before = if j == 0 {
            0
        } else {
            (line >> j.saturating_sub(4)) & ((1u64 << j.min(4)) - 1)
        };
        let after = if j + 7 >= width {
            0
        } else {
            (line >> (j + 7)) & 0xF & (full >> (j + 7))
        };
        if before == 0 || after == 0 {
            score += 40;
        }
    }
    score
}

fn penalty_bits(dark: &[bool], width: usize) -> u32 {
    let (rows, cols) = lines(dark, width);
    let mut score: u32 = rows
        .iter()
        .chain(&cols)
        .map(|&l| run_penalty(l, width))
        .sum();
    // N2: 2×2 blocks of one colour, 3 each.
    let pairs = (1u64 << (width - 1)) - 1;
    for w in rows.windows(2) {
        let (a, b) = (w[0], w[1]);
        let flat_a = !(a ^ (a >> 1));
        let flat_b = !(b ^ (b >> 1));
        let same = !(a ^ b);
        score += 3 * (flat_a & flat_b & same & pairs).count_ones();
    }
    let finder: u32 = rows
        .iter()
        .chain(&cols)
        .map(|&l| finder_penalty(l, width))
        .sum();
    score += finder.saturating_sub(360);
    let dark_count: u32 = rows.iter().map(|r| r.count_ones()).sum();
    let ratio = dark_count as usize * 200 / (width * width);
    score + ratio.abs_diff(100) as u32
}

fn penalty_modules(dark: &[bool], width: usize) -> u32 {
    let at = |x: usize, y: usize| dark[y * width + x];
    let mut score = 0u32;
    // N1: runs of five or more same-coloured modules in a row or column: length - 2.
    for horizontal in [true, false] {
        for i in 0..width {
            let mut run = 1u32;
            for j in 1..=width {
                let same = j < width && {
                    let (a, b) = if horizontal {
                        (at(j - 1, i), at(j, i))
                    } else {
                        (at(i, j - 1), at(i, j))
                    };
                    a == b
                };
                if same {
                    run += 1;
                } else {
                    if run >= 5 {
                        score += run - 2;
                    }
                    run = 1;
                }
            }
        }
    }
    // N2: every 2×2 block of one colour: 3.
    for y in 0..width - 1 {
        for x in 0..width - 1 {
            let c = at(x, y);
            if at(x + 1, y) == c && at(x, y + 1) == c && at(x + 1, y + 1) == c {
                score += 3;
            }
        }
    }
    // N3: a 1:1:3:1:1 finder-like pattern without four light modules on both sides: 40
    // (the symbol's own finder patterns are subtracted as 360, as in `qrcode`).
    const PATTERN: [bool; 7] = [true, false, true, true, true, false, true];
    let mut finder = 0u32;
    for horizontal in [true, false] {
        for i in 0..width {
            let get = |k: usize| if horizontal { at(k, i) } else { at(i, k) };
            for j in 0..width.saturating_sub(6) {
                if (0..7).any(|k| get(j + k) != PATTERN[k]) {
                    continue;
                }
                let dark_before = (j.saturating_sub(4)..j).any(get);
                let dark_after = (j + 7..(j + 11).min(width)).any(get);
                if !dark_before || !dark_after {
                    finder += 40;
                }
            }
        }
    }
    score += finder.saturating_sub(360);
    // N4: balance of dark and light.
    let dark_count = dark.iter().filter(|&&d| d).count();
    let ratio = dark_count * 200 / dark.len().max(1);
    score += ratio.abs_diff(100) as u32;
    score
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use qrcode::QrCode;

    fn alphanumeric_bits(text: &[u8], version: i16) -> Option<Bits> {
        let mut bits = Bits::new(Version::Normal(version));
        bits.push_alphanumeric_data(text).ok()?;
        bits.push_terminator(EcLevel::M).ok()?;
        Some(bits)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        /// The mask search picks exactly the symbol `qrcode` itself would produce.
        #[test]
        fn same_symbol_as_qrcode(text in "[0-9A-Z $%*+./:-]{1,160}", version in 5i16..=10) {
            let Some(bits) = alphanumeric_bits(text.as_bytes(), version) else {
                return Ok(()); // too long for this version
            };
            let Some(reference_bits) = alphanumeric_bits(text.as_bytes(), version) else {
                return Ok(());
            };
            let ours = from_bits(bits, EcLevel::M).expect("encode");
            let reference = QrCode::with_bits(reference_bits, EcLevel::M).expect("reference");
            prop_assert_eq!(ours.width(), reference.width());
            prop_assert_eq!(ours.to_colors(), reference.to_colors());
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        /// The bit-mask scoring equals the module-by-module one on any grid.
        #[test]
        fn bit_masks_score_like_modules(width in 7usize..=64, seed in any::<u64>(), density in 1u64..=9) {
            let mut state = seed | 1;
            let dark: Vec<bool> = (0..width * width)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    state % 10 < density
                })
                .collect();
            prop_assert_eq!(penalty_bits(&dark, width), penalty_modules(&dark, width));
        }
    }

    #[test]
    fn micro_versions_are_refused() {
        let bits = Bits::new(Version::Micro(2));
        assert!(from_bits(bits, EcLevel::M).is_err());
    }
}
