//! The end of the табель: the director's approval box (when approved) and the signature
//! lines of the social pedagogue and the director, with «М.П.» for the seal.

use super::layout::{Align, Layout};
use super::{GREY_TEXT, INK, MARGIN};
use crate::domain::tabel::{Approval, Tabel};
use crate::services::tabel::render::astana_time;

/// The approval box (when approved) and the signature lines, kept together on one page.
pub(super) fn signatures(l: &mut Layout, t: &Tabel) {
    let stamp_h = if t.approval.is_some() { 34.0 } else { 0.0 };
    l.ensure(stamp_h + 80.0);
    if let Some(a) = &t.approval {
        approval_box(l, a);
    }
    let mut y = l.y + 22.0;
    for (who, seal) in [("Социальный педагог", false), ("Директор", true)]
    {
        signature_line(l, who, seal, y);
        y += 28.0;
    }
    l.y = y;
}

/// The framed note of who approved the табель and when, with its checksum.
fn approval_box(l: &mut Layout, a: &Approval) {
    let y = l.y + 4.0;
    let w = 470.0;
    l.hline(MARGIN, MARGIN + w, y, 0.8);
    l.hline(MARGIN, MARGIN + w, y + 26.0, 0.8);
    l.vline(MARGIN, y, y + 26.0, 0.8);
    l.vline(MARGIN + w, y, y + 26.0, 0.8);
    l.text_in(
        MARGIN + 6.0,
        w - 12.0,
        y + 10.5,
        8.0,
        true,
        INK,
        format!(
            "Табель утверждён директором: {}, {}",
            astana_time(a.approved_at),
            a.approved_by
        ),
        Align::Left,
    );
    l.text_in(
        MARGIN + 6.0,
        w - 12.0,
        y + 21.0,
        6.5,
        false,
        INK,
        format!("Контрольная сумма (SHA-256): {}", a.content_hash),
        Align::Left,
    );
    l.y = y + 26.0 + 4.0;
}

/// One signer's line at baseline `y`: role, «(подпись)» and «(фамилия, инициалы)» blanks,
/// and «М.П.» where the seal goes.
fn signature_line(l: &mut Layout, who: &str, seal: bool, y: f32) {
    let x = MARGIN;
    l.text_in(x, 110.0, y, 9.0, false, INK, who.to_string(), Align::Left);
    let sign = (x + 112.0, x + 232.0);
    let name = (x + 246.0, x + 416.0);
    l.hline(sign.0, sign.1, y + 1.5, 0.5);
    l.text_in(
        sign.1 + 2.0,
        10.0,
        y,
        9.0,
        false,
        INK,
        "/".into(),
        Align::Center,
    );
    l.hline(name.0, name.1, y + 1.5, 0.5);
    l.text_in(
        name.1 + 2.0,
        10.0,
        y,
        9.0,
        false,
        INK,
        "/".into(),
        Align::Center,
    );
    l.text_in(
        sign.0,
        sign.1 - sign.0,
        y + 8.5,
        6.0,
        false,
        GREY_TEXT,
        "(подпись)".into(),
        Align::Center,
    );
    l.text_in(
        name.0,
        name.1 - name.0,
        y + 8.5,
        6.0,
        false,
        GREY_TEXT,
        "(фамилия, инициалы)".into(),
        Align::Center,
    );
    if seal {
        l.text_in(
            x + 450.0,
            40.0,
            y,
            9.0,
            true,
            INK,
            "М.П.".into(),
            Align::Left,
        );
    }
}
