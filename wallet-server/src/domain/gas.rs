//! Gas vouchers (seed 002, the joint order of December 2024): the values of the monthly
//! programme's rules, its regions and SMS texts (the order's appendix, verbatim), the
//! discount cap, and the masks that keep personal accounts, holders and addresses out of
//! logs and answers.

use serde::{Deserialize, Serialize};
use time::macros::date;

use crate::domain::consent::ConsentWindows;
use crate::domain::monthly::{MonthDays, MonthlyRules, MonthlyTexts};
use crate::domain::programme_dates::ProgrammeDates;
use crate::domain::{words, Programme};

/// The pilot's regions (order, item 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Region {
    Shymkent,
    WestKazakhstan,
}

words!(Region, "region", { Shymkent => "shymkent", WestKazakhstan => "west_kazakhstan" });

/// The pilot's dates: 5 December 2024 – 30 April 2025 (order, item 3).
pub fn pilot_dates() -> ProgrammeDates {
    ProgrammeDates::new(date!(2024 - 12 - 05), date!(2025 - 04 - 30))
        .unwrap_or_else(|_| ProgrammeDates::around(date!(2025 - 01 - 01)))
}

/// The appendix's three texts; the reminder repeats the start one (item 19).
pub const TEXTS: MonthlyTexts = MonthlyTexts {
    start: "Уважаемый (ая) {name}!\n\
        Вашей семье доступен ваучер на товарный газ.\n\
        Для получения ваучера на товарный газ отправьте SMS с текстом:\n\
        3#1. Если Вы не согласны введите 3#2 либо проигнорируйте данное сообщение. Ответить \
        необходимо до 25 числа текущего месяца.\n\
        При отправке текста 3#1 Вы подтверждаете свое согласие на сбор, обработку и передачу \
        общедоступных персональных данных и персональных данных ограниченного доступа, \
        необходимых для оказания услуги \"Предоставление ваучеров на товарный газ получателям \
        государственной адресной социальной помощи и (или) жилищной помощи\" в соответствии со \
        статьей 8 Закона Республики Казахстан \"О персональных данных и их защите\".\n\
        Настоящее согласие действует в период оказания указанной услуги. Отмечаем об \
        отсутствии передачи персональных данных третьим лицам и трансграничной передачи.\n\
        В случае возникновения вопросов можете обратиться в Call-центр по номеру 1414. Звонок \
        бесплатный.",
    reminder_mark: "Повторное сообщение.",
    agreed: "Ваше согласие на получение ваучера на товарный газ обработано положительно. Для \
        получения ваучера Вам необходимо зарегистрироваться в приложении \"Социальный кошелек\" \
        в мобильном приложении электронного правительства eGov mobile перейдя по ссылке <{link}>.",
    refused: "Вы отказались от получения услуги.",
    help: "Ответ не распознан. Чтобы получить ваучер на товарный газ, отправьте SMS с текстом \
        3#1; чтобы отказаться — 3#2. Call-центр: 1414.",
};

/// The gas programme's rules within `dates` (items 7, 9, 16–19, 31 of the order).
pub fn rules(dates: ProgrammeDates) -> MonthlyRules {
    MonthlyRules {
        programme: Programme::Gas,
        days: MonthDays {
            start: 7,
            update_until: 14,
            activate_from: 7,
            activate_until: 25,
            handover: 26,
        },
        consent: ConsentWindows::of(Programme::Gas),
        texts: TEXTS,
        dates,
    }
}

/// A region's monthly norm and benefit (set by the integration role).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Norm {
    pub norm_m3: f64,
    pub benefit_tiyn_per_m3: i64,
}

impl Norm {
    /// The largest discount: benefit × the monthly norm (definition 5 of the algorithm).
    pub fn cap_tiyn(&self) -> i64 {
        // Tiyn are whole; a fraction of one is not given.
        (self.benefit_tiyn_per_m3 as f64 * self.norm_m3).floor() as i64
    }
}

/// A discount the provider computed for one voucher.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Discount {
    pub volume_m3: f64,
    pub norm_m3: f64,
    pub benefit_tiyn_per_m3: i64,
    pub discount_tiyn: i64,
}

/// Why a discount is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiscountRefusal {
    /// Above benefit × the region's norm.
    AboveCap,
    /// Above consumed volume × benefit.
    AboveConsumption,
    /// Norm or benefit other than the region's.
    NormMismatch,
    /// Negative or not a number.
    Invalid,
}

impl DiscountRefusal {
    pub fn code(&self) -> &'static str {
        match self {
            DiscountRefusal::AboveCap => "above_cap",
            DiscountRefusal::AboveConsumption => "above_consumption",
            DiscountRefusal::NormMismatch => "norm_mismatch",
            DiscountRefusal::Invalid => "invalid_item",
        }
    }
}

/// Checks a discount against the region's norm: volume × benefit, at most the cap.
pub fn check_discount(d: &Discount, region: &Norm) -> Result<(), DiscountRefusal> {
    let finite = d.volume_m3.is_finite() && d.norm_m3.is_finite();
    if !finite || d.volume_m3 < 0.0 || d.discount_tiyn < 0 || d.benefit_tiyn_per_m3 <= 0 {
        return Err(DiscountRefusal::Invalid);
    }
    if (d.norm_m3 - region.norm_m3).abs() > 1e-9
        || d.benefit_tiyn_per_m3 != region.benefit_tiyn_per_m3
    {
        return Err(DiscountRefusal::NormMismatch);
    }
    if d.discount_tiyn > region.cap_tiyn() {
        return Err(DiscountRefusal::AboveCap);
    }
    let consumed = (d.volume_m3 * d.benefit_tiyn_per_m3 as f64).ceil() as i64;
    if d.discount_tiyn > consumed {
        return Err(DiscountRefusal::AboveConsumption);
    }
    Ok(())
}

/// A personal account number for logs: first two and last two characters (`12******90`).
pub fn mask_account(number: &str) -> String {
    let chars: Vec<char> = number.chars().collect();
    if chars.len() < 6 {
        return "***".into();
    }
    let head: String = chars[..2].iter().collect();
    let tail: String = chars[chars.len() - 2..].iter().collect();
    format!("{head}{}{tail}", "*".repeat(chars.len() - 4))
}

/// A holder's name as the recipient may see it to check the account: the surname, then
/// initials (`Иванова А. С.`).
pub fn mask_holder(full_name: &str) -> String {
    let mut words = full_name.split_whitespace();
    let Some(surname) = words.next() else {
        return String::new();
    };
    let initials: Vec<String> = words
        .filter_map(|w| w.chars().next())
        .map(|c| format!("{c}."))
        .collect();
    std::iter::once(surname.to_string())
        .chain(initials)
        .collect::<Vec<_>>()
        .join(" ")
}

/// An address with only its first part (the locality) shown: `г. Шымкент, ***`.
pub fn mask_address(address: &str) -> String {
    match address.split_once(',') {
        Some((locality, _)) => format!("{}, ***", locality.trim()),
        None => "***".into(),
    }
}

/// A personal account number as typed: 6–20 digits. Anything else is not one.
pub fn parse_account(raw: &str) -> Option<String> {
    let trimmed = raw.trim();
    let ok = (6..=20).contains(&trimmed.len()) && trimmed.chars().all(|c| c.is_ascii_digit());
    ok.then(|| trimmed.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const NORM: Norm = Norm {
        norm_m3: 150.0,
        benefit_tiyn_per_m3: 2_000,
    };

    fn item(volume: f64, discount: i64) -> Discount {
        Discount {
            volume_m3: volume,
            norm_m3: 150.0,
            benefit_tiyn_per_m3: 2_000,
            discount_tiyn: discount,
        }
    }

    #[test]
    fn the_discount_is_volume_times_benefit_at_most_the_cap() {
        assert_eq!(NORM.cap_tiyn(), 300_000);
        assert_eq!(check_discount(&item(100.0, 200_000), &NORM), Ok(()));
        assert_eq!(check_discount(&item(200.0, 300_000), &NORM), Ok(()));
        assert_eq!(
            check_discount(&item(200.0, 300_001), &NORM),
            Err(DiscountRefusal::AboveCap)
        );
        assert_eq!(
            check_discount(&item(10.0, 20_001), &NORM),
            Err(DiscountRefusal::AboveConsumption)
        );
        let mut other = item(10.0, 1);
        other.norm_m3 = 500.0;
        assert_eq!(
            check_discount(&other, &NORM),
            Err(DiscountRefusal::NormMismatch)
        );
        assert_eq!(
            check_discount(&item(-1.0, 0), &NORM),
            Err(DiscountRefusal::Invalid)
        );
    }

    #[test]
    fn accounts_holders_and_addresses_are_masked() {
        assert_eq!(mask_account("1234567890"), "12******90");
        assert_eq!(mask_account("123"), "***");
        assert_eq!(mask_holder("Иванова Айгуль Сериковна"), "Иванова А. С.");
        assert_eq!(
            mask_address("г. Шымкент, ул. Абая, д. 12"),
            "г. Шымкент, ***"
        );
        assert_eq!(mask_address("нет запятой"), "***");
        assert_eq!(parse_account(" 1234567 ").as_deref(), Some("1234567"));
        assert_eq!(parse_account("12a4567"), None);
        assert_eq!(parse_account("12345"), None);
    }

    #[test]
    fn the_texts_are_the_orders() {
        let start = TEXTS.start("Иванова Айгуль");
        assert!(start.contains("Вашей семье доступен ваучер на товарный газ."));
        assert!(start.contains("Ответить необходимо до 25 числа текущего месяца."));
        assert!(start.ends_with("Звонок бесплатный."));
        assert!(!start.contains("  "), "{start}");
        assert_eq!(TEXTS.refused, "Вы отказались от получения услуги.");
        assert!(TEXTS
            .agreed("https://egovmobile.page.link/socwallet")
            .ends_with("перейдя по ссылке <https://egovmobile.page.link/socwallet>."));
        assert_eq!(pilot_dates().first_day(), date!(2024 - 12 - 05));
        assert_eq!(pilot_dates().last_day(), date!(2025 - 04 - 30));
    }
}
