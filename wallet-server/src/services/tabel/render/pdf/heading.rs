//! The heading repeated on every page: the title in Russian and Kazakh, the school, its BIN
//! and the month, and the approval stamp (or «черновик» while not approved).

use super::layout::HeadLine;
use crate::domain::tabel::Tabel;
use crate::services::tabel::render::{astana_time, month_ru, TITLE, TITLE_KK};

/// The heading lines repeated at the top of every page: title, school, month, and the
/// approval stamp or the draft note.
pub(super) fn page_heading(t: &Tabel) -> Vec<HeadLine> {
    let stamp = match &t.approval {
        Some(a) => HeadLine {
            text: format!(
                "УТВЕРЖДЁН {}, утвердил: {}. Контрольная сумма (SHA-256): {}",
                astana_time(a.approved_at),
                a.approved_by,
                a.content_hash
            ),
            size: 7.0,
            bold: true,
            gap: 10.0,
        },
        None => HeadLine {
            text: format!(
                "Не утверждён — черновик, сформирован {}",
                astana_time(t.generated_at)
            ),
            size: 7.0,
            bold: false,
            gap: 10.0,
        },
    };
    vec![
        HeadLine {
            text: format!("{} за {}", TITLE.to_uppercase(), month_ru(t.month)),
            size: 11.0,
            bold: true,
            gap: 11.0,
        },
        HeadLine {
            text: format!("({TITLE_KK})"),
            size: 7.0,
            bold: false,
            gap: 9.5,
        },
        HeadLine {
            text: format!(
                "Организация образования: {}      БИН: {}      Месяц: {} ({})",
                t.school.name,
                t.school.bin,
                month_ru(t.month),
                t.month
            ),
            size: 8.5,
            bold: false,
            gap: 11.0,
        },
        stamp,
    ]
}
