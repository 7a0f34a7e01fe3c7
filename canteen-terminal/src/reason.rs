//! The words the canteen worker reads: why a scan was refused and what to watch out for.
//!
//! Every denial and warning has a stable snake_case code (for scripts, tests and logs) and a
//! label in Russian and in Kazakh (for the screen). The labels are short on purpose: the
//! worker glances at them with a queue of children waiting.

use std::fmt;

/// Why a scan was refused. Nothing is recorded for a denial.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Denial {
    /// The terminal has never pulled a roster and keys from the server.
    NotReady,
    /// Not a pass at all: garbage, a truncated or damaged code, another format.
    BadCode,
    /// A well-formed pass whose signature does not match: tampered with or forged.
    ForgedCode,
    /// A pass signed with a key this terminal does not know (yet): sync needed, or forged.
    UnknownKey,
    /// The pass's validity window is over.
    ExpiredCode,
    /// The pass's validity window has not started yet.
    NotYetValid,
    /// A genuine pass of another school.
    OtherSchool,
    /// The voucher is not on this school's roster, not activated, revoked or expired.
    NotOnRoster,
    /// The voucher's validity starts on a later day (the school year has not begun).
    VoucherNotStarted,
    /// The student is not on the school's list for this month (dropped, or moved away).
    NotOnList,
    /// A card that is not bound to any student of the school.
    UnknownCard,
    /// No meal slot at this time of day.
    OutsideHours,
    /// The student already had this slot's meal today.
    AlreadyAte,
    /// A slot of another shift than the student's class.
    WrongShift,
    /// The terminal could not read or write its own database.
    TerminalError,
}

impl Denial {
    /// Every denial, for tests and documentation.
    pub const ALL: [Denial; 15] = [
        Denial::NotReady,
        Denial::BadCode,
        Denial::ForgedCode,
        Denial::UnknownKey,
        Denial::ExpiredCode,
        Denial::NotYetValid,
        Denial::OtherSchool,
        Denial::NotOnRoster,
        Denial::VoucherNotStarted,
        Denial::NotOnList,
        Denial::UnknownCard,
        Denial::OutsideHours,
        Denial::AlreadyAte,
        Denial::WrongShift,
        Denial::TerminalError,
    ];

    /// Stable code for scripts and logs.
    pub fn code(self) -> &'static str {
        match self {
            Denial::NotReady => "not_ready",
            Denial::BadCode => "bad_code",
            Denial::ForgedCode => "forged_code",
            Denial::UnknownKey => "unknown_key",
            Denial::ExpiredCode => "expired_code",
            Denial::NotYetValid => "not_yet_valid",
            Denial::OtherSchool => "other_school",
            Denial::NotOnRoster => "not_on_roster",
            Denial::VoucherNotStarted => "voucher_not_started",
            Denial::NotOnList => "not_on_list",
            Denial::UnknownCard => "unknown_card",
            Denial::OutsideHours => "outside_hours",
            Denial::AlreadyAte => "already_ate",
            Denial::WrongShift => "wrong_shift",
            Denial::TerminalError => "terminal_error",
        }
    }

    /// Label in Russian.
    pub fn ru(self) -> &'static str {
        match self {
            Denial::NotReady => "Терминал не синхронизирован",
            Denial::BadCode => "Код не прочитан — поднесите ещё раз",
            Denial::ForgedCode => "Код не распознан как действительный",
            Denial::UnknownKey => "Код не распознан, нужна синхронизация",
            Denial::ExpiredCode => "Код устарел — попросите родителя обновить код",
            Denial::NotYetValid => "Код ещё не действует",
            Denial::OtherSchool => "Код другой школы",
            Denial::NotOnRoster => "Ваучер не активирован или отозван",
            Denial::VoucherNotStarted => "Ваучер ещё не начал действовать",
            Denial::NotOnList => "Нет в списке на этот месяц — к соцпедагогу",
            Denial::UnknownCard => "Карта не зарегистрирована — обратитесь к социальному педагогу",
            Denial::OutsideHours => "Сейчас не время питания",
            Denial::AlreadyAte => "Уже поел(а) сегодня",
            Denial::WrongShift => "Питание не в эту смену — приходите в свою",
            Denial::TerminalError => "Ошибка терминала, повторите",
        }
    }

    /// Label in Kazakh.
    pub fn kk(self) -> &'static str {
        match self {
            Denial::NotReady => "Терминал синхрондалмаған",
            Denial::BadCode => "Код оқылмады — қайта жақындатыңыз",
            Denial::ForgedCode => "Код жарамды деп танылмады",
            Denial::UnknownKey => "Код танылмады, синхрондау қажет",
            Denial::ExpiredCode => "Кодтың мерзімі өтті — ата-анасы кодты жаңартсын",
            Denial::NotYetValid => "Код әлі күшіне енбеген",
            Denial::OtherSchool => "Басқа мектептің коды",
            Denial::NotOnRoster => "Ваучер белсендірілмеген немесе күші жойылған",
            Denial::VoucherNotStarted => "Ваучер әлі күшіне енбеген",
            Denial::NotOnList => "Осы айдың тізімінде жоқ — әлеуметтік педагогке",
            Denial::UnknownCard => "Карта тіркелмеген — әлеуметтік педагогке жүгініңіз",
            Denial::OutsideHours => "Қазір тамақтану уақыты емес",
            Denial::AlreadyAte => "Бүгін тамақтанған",
            Denial::WrongShift => "Бұл ауысымның тамағы емес — өз ауысымыңызда келіңіз",
            Denial::TerminalError => "Терминал қатесі, қайталаңыз",
        }
    }
}

impl Denial {
    /// Whether the refused scan is pushed to the server as a denial (for the misuse
    /// signals and the parent's feed): a code that did not read is not a scan of anyone,
    /// and the terminal's own faults are not the child's.
    pub fn pushed(self) -> bool {
        !matches!(
            self,
            Denial::NotReady | Denial::BadCode | Denial::TerminalError
        )
    }
}

impl fmt::Display for Denial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// Something the worker should know although the decision stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Warning {
    /// The last successful roster pull is older than the configured age.
    RosterStale,
    /// The server refused this terminal's token: it no longer syncs.
    TerminalRevoked,
}

impl Warning {
    /// Stable code for scripts and logs.
    pub fn code(self) -> &'static str {
        match self {
            Warning::RosterStale => "roster_stale",
            Warning::TerminalRevoked => "terminal_revoked",
        }
    }

    /// Label in Russian.
    pub fn ru(self) -> &'static str {
        match self {
            Warning::RosterStale => "Список учеников давно не обновлялся",
            Warning::TerminalRevoked => "Терминал отключён сервером",
        }
    }

    /// Label in Kazakh.
    pub fn kk(self) -> &'static str {
        match self {
            Warning::RosterStale => "Оқушылар тізімі көптен бері жаңартылмаған",
            Warning::TerminalRevoked => "Терминалды сервер ажыратқан",
        }
    }
}

/// What the screen says on green.
pub const ACCEPT_RU: &str = "Приятного аппетита!";
/// What the screen says on green, in Kazakh.
pub const ACCEPT_KK: &str = "Ас болсын!";

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn codes_are_unique_snake_case_and_every_denial_has_both_labels() {
        let mut codes = HashSet::new();
        for denial in Denial::ALL {
            let code = denial.code();
            assert!(codes.insert(code), "duplicate code {code}");
            assert!(
                code.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{code}"
            );
            assert!(!denial.ru().is_empty() && !denial.kk().is_empty());
            assert_ne!(
                denial.ru(),
                denial.kk(),
                "{code}: same text in both languages"
            );
            assert_eq!(denial.to_string(), code);
        }
        for warning in [Warning::RosterStale, Warning::TerminalRevoked] {
            assert!(!warning.ru().is_empty() && !warning.kk().is_empty());
        }
    }

    #[test]
    fn the_codes_scripts_rely_on() {
        let codes: Vec<&str> = Denial::ALL.iter().map(|d| d.code()).collect();
        for code in [
            "bad_code",
            "forged_code",
            "expired_code",
            "not_yet_valid",
            "other_school",
            "not_on_roster",
            "already_ate",
            "unknown_card",
            "outside_hours",
            "not_ready",
        ] {
            assert!(codes.contains(&code), "{code}");
        }
    }
}
