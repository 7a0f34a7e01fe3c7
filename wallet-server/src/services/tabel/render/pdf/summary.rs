//! The summary under the grid: meals and students fed, the price of a meal, the month's
//! amount, any adjustments for an earlier month, the payable total and the excluded count.

use super::layout::{Align, Layout};
use super::{INK, MARGIN};
use crate::domain::tabel::Tabel;
use crate::services::tabel::render::{group_thousands, month_ru, tenge_ru};

/// The month's totals as label–value lines (the payable one bold).
fn summary_lines(t: &Tabel) -> Vec<(String, String, bool)> {
    let mut lines: Vec<(String, String, bool)> = vec![
        (
            "Учтённых питаний за месяц".into(),
            group_thousands(u64::from(t.totals.meals)),
            false,
        ),
        (
            "Получили питание, учащихся".into(),
            group_thousands(u64::from(t.totals.students_fed)),
            false,
        ),
        (
            "Цена одного питания".into(),
            tenge_ru(t.totals.meal_price_tiyn),
            false,
        ),
        (
            format!(
                "Сумма за месяц ({} × {})",
                group_thousands(u64::from(t.totals.meals)),
                tenge_ru(t.totals.meal_price_tiyn)
            ),
            tenge_ru(t.totals.amount_tiyn),
            false,
        ),
    ];
    if let Some(adj) = &t.adjustments {
        lines.push((
            format!(
                "Корректировка за {}: {} пит., поступивших после утверждения",
                month_ru(adj.month),
                group_thousands(u64::from(adj.meals))
            ),
            tenge_ru(adj.amount_tiyn),
            false,
        ));
    }
    lines.push(("Итого к оплате".into(), tenge_ru(t.payable_tiyn), true));
    if !t.excluded.is_empty() {
        lines.push((
            "Не учтено (повторы и отклонённые при синхронизации), см. ниже".into(),
            group_thousands(t.excluded.len() as u64),
            false,
        ));
    }
    if !t.unbilled.is_empty() {
        lines.push((
            "Не оплачивается (питание в неучебный день), см. ниже".into(),
            group_thousands(t.unbilled.len() as u64),
            false,
        ));
    }
    lines
}

/// Draws «Итоги за …»: the totals, price, amount, adjustments and payable.
pub(super) fn summary(l: &mut Layout, t: &Tabel) {
    let lines = summary_lines(t);
    let lead = 11.5;
    l.ensure(16.0 + lead * lines.len() as f32);
    l.y += 4.0;
    l.line(format!("Итоги за {}", month_ru(t.month)), 9.0, true, 13.0);
    let label_w = 330.0;
    let value_w = 110.0;
    for (label, value, bold) in lines {
        let baseline = l.y + lead * 0.75;
        l.text_in(
            MARGIN,
            label_w,
            baseline,
            8.5,
            bold,
            INK,
            label,
            Align::Left,
        );
        l.text_in(
            MARGIN + label_w,
            value_w,
            baseline,
            8.5,
            bold,
            INK,
            value,
            Align::Right,
        );
        l.y += lead;
    }
    l.hline(MARGIN, MARGIN + label_w + value_w, l.y + 1.0, 0.4);
    l.y += 6.0;
}
