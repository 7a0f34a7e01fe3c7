//! The families and one-child lists of the consent end-to-end tests (`consent.rs`).

use serde_json::Value;
use shared::{Iin, Sex};
use time::{Date, Duration, Month};

use super::{family, row, sms, Family};
use crate::common::wallet::{self as w, Term};
use crate::common::Server;

/// The people of the test list.
pub struct Families {
    /// Never answers.
    pub silent: Family,
    pub agrees: Family,
    pub refuses: Family,
    /// A mother of two: `twins_mum` and `second` are her children.
    pub twins_mum: Family,
    pub second: Family,
    /// Nobody has a phone.
    pub orphan: Iin,
    pub guardian: Iin,
}

impl Families {
    pub fn all() -> Families {
        Families {
            silent: family(1, "+7 701 555 01 01", "77015550101"),
            agrees: family(2, "8 (702) 555-01-02", "77025550102"),
            refuses: family(3, "77055550103", "77055550103"),
            twins_mum: family(4, "+77075550104", "77075550104"),
            second: Family {
                child: w::iin(2014, Month::May, 5, Sex::Female, 6001),
                child_name: "Ученица Вторая".into(),
                ..family(4, "+77075550104", "77075550104")
            },
            orphan: w::iin(2011, Month::June, 6, Sex::Male, 6001),
            guardian: w::iin(1970, Month::July, 7, Sex::Female, 6001),
        }
    }

    /// The SMS of the outbox to this list's parents (the demo school's own conversations
    /// run beside them).
    pub async fn sms(&self, server: &Server) -> Vec<Value> {
        let ours = [
            self.silent.phone,
            self.agrees.phone,
            self.refuses.phone,
            self.twins_mum.phone,
        ];
        sms(server)
            .await
            .into_iter()
            .filter(|m| ours.iter().any(|p| m["to"] == *p))
            .collect()
    }

    pub fn list(&self, term: &Term) -> Value {
        let bin = w::bin([0, 4, 0, 1, 4, 0, 0, 0, 7, 1, 1]).to_string();
        let with_phone = [
            &self.silent,
            &self.agrees,
            &self.refuses,
            &self.twins_mum,
            &self.second,
        ];
        let mut students: Vec<Value> = with_phone.map(row).to_vec();
        let guardian = w::rep(
            &self.guardian.expose(),
            "Опекун Без Телефона",
            "guardian",
            None,
        );
        students.push(w::student(
            &self.orphan.expose(),
            "Без Телефона",
            8,
            "8Б",
            "orphan",
            vec![guardian],
        ));
        w::list(&bin, "Школа SMS", &term.period(), students)
    }
}

pub fn text(sms: &Value) -> &str {
    sms["text"].as_str().expect("SMS text")
}

/// `YYYY-MM` of a day.
pub fn month_of(day: Date) -> String {
    format!("{:04}-{:02}", day.year(), u8::from(day.month()))
}

/// The first day of the month after `day`'s.
pub fn next_month(day: Date) -> Date {
    (day.replace_day(1).expect("a first") + Duration::days(31))
        .replace_day(1)
        .expect("a first")
}

/// One upper-grade child of a school of its own, listed for `day`'s month.
pub fn one_child_list(bin_digit: u8, f: &Family, day: Date) -> Value {
    let bin = w::bin([0, 4, 0, 1, 4, 0, 0, 0, 7, 2, bin_digit]).to_string();
    w::list(&bin, "Школа сроков", &month_of(day), vec![row(f)])
}
