//! `PhoneDirectory`: which number to ask for consent (BMG, the mobile citizens' database).
//!
//! Priority is the order's: the mother's number, then the father's, then another legal
//! representative's. The default adapter uses the phones that came with the eligibility
//! list; the HTTP adapter asks a BMG service by IIN and falls back to the list's phones
//! when BMG cannot be reached.

use std::time::Duration;

use async_trait::async_trait;
use serde::Deserialize;
use shared::http::{explain, ClientTls};
use shared::Iin;

use crate::domain::consent::Language;
use crate::domain::list::normalize_phone;
use crate::domain::{Relation, Representative};

/// Whom to ask, at which number, in which language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contact {
    pub representative: Iin,
    pub relation: Relation,
    /// `7XXXXXXXXXX`.
    pub phone: String,
    /// `None` when nobody knows; texts are then Russian.
    pub language: Option<Language>,
}

/// The directory could not answer (nothing is concluded from that: no `no_phone`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("phone directory unavailable: {0}")]
pub struct LookupError(pub String);

/// Finds the number to ask.
#[async_trait]
pub trait PhoneDirectory: Send + Sync {
    /// The first representative, by priority, with a usable mobile number; `None` if nobody
    /// has one.
    async fn contact(
        &self,
        representatives: &[(Representative, Relation)],
    ) -> Result<Option<Contact>, LookupError>;
}

/// Representatives in the order's priority: mothers, fathers, then others (stable within).
pub fn by_priority(reps: &[(Representative, Relation)]) -> Vec<&(Representative, Relation)> {
    let rank = |r: Relation| match r {
        Relation::Mother => 0,
        Relation::Father => 1,
        Relation::Guardian => 2,
    };
    let mut sorted: Vec<_> = reps.iter().collect();
    sorted.sort_by_key(|(_, relation)| rank(*relation));
    sorted
}

/// The phones that came with the eligibility list (already normalised there).
#[derive(Debug, Default, Clone, Copy)]
pub struct ListPhoneDirectory;

impl ListPhoneDirectory {
    fn pick(reps: &[(Representative, Relation)]) -> Option<Contact> {
        by_priority(reps).into_iter().find_map(|(rep, relation)| {
            let phone = rep.phone.as_deref().and_then(normalize_phone)?;
            Some(Contact {
                representative: rep.iin,
                relation: *relation,
                phone,
                language: None,
            })
        })
    }
}

#[async_trait]
impl PhoneDirectory for ListPhoneDirectory {
    async fn contact(
        &self,
        reps: &[(Representative, Relation)],
    ) -> Result<Option<Contact>, LookupError> {
        Ok(Self::pick(reps))
    }
}

/// BMG over HTTP: `GET <url>?iin=<IIN>` answers `200 {"phone": "…", "language"?: "ru"|"kk"}`
/// or `404` when the person has no number.
#[derive(Debug, Clone)]
pub struct HttpPhoneDirectory {
    client: reqwest::Client,
    url: String,
}

#[derive(Deserialize)]
struct BmgAnswer {
    phone: Option<String>,
    language: Option<String>,
}

impl HttpPhoneDirectory {
    /// BMG at `url` (`https://…` or `http://…`) speaking `tls`, with a per-request timeout.
    pub fn new(
        url: &str,
        timeout: Duration,
        tls: &ClientTls,
    ) -> Result<HttpPhoneDirectory, reqwest::Error> {
        let client = tls.builder().timeout(timeout).build()?;
        Ok(HttpPhoneDirectory {
            client,
            url: url.to_string(),
        })
    }

    /// One person's number per BMG; `Ok(None)` when BMG has none (or none usable).
    async fn lookup(&self, iin: Iin) -> Result<Option<(String, Option<Language>)>, LookupError> {
        let response = self
            .client
            .get(&self.url)
            .query(&[("iin", iin.expose())])
            .send()
            .await
            .map_err(|e| LookupError(format!("BMG unreachable: {}", explain(&e.without_url()))))?;
        match response.status().as_u16() {
            404 => return Ok(None),
            200 => {}
            other => return Err(LookupError(format!("BMG answered {other}"))),
        }
        let answer: BmgAnswer = response
            .json()
            .await
            .map_err(|e| LookupError(format!("BMG answer unreadable: {}", e.without_url())))?;
        let language = answer.language.and_then(|l| l.parse().ok());
        Ok(answer
            .phone
            .as_deref()
            .and_then(normalize_phone)
            .map(|p| (p, language)))
    }

    async fn ask_bmg(
        &self,
        reps: &[(Representative, Relation)],
    ) -> Result<Option<Contact>, LookupError> {
        for (rep, relation) in by_priority(reps) {
            if let Some((phone, language)) = self.lookup(rep.iin).await? {
                return Ok(Some(Contact {
                    representative: rep.iin,
                    relation: *relation,
                    phone,
                    language,
                }));
            }
        }
        Ok(None)
    }
}

#[async_trait]
impl PhoneDirectory for HttpPhoneDirectory {
    async fn contact(
        &self,
        reps: &[(Representative, Relation)],
    ) -> Result<Option<Contact>, LookupError> {
        match self.ask_bmg(reps).await {
            Ok(found) => Ok(found),
            Err(e) => match ListPhoneDirectory::pick(reps) {
                Some(contact) => {
                    tracing::warn!(error = %e, "BMG lookup failed: using the list's phone");
                    Ok(Some(contact))
                }
                None => Err(e),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::Sex;
    use time::macros::date;

    fn rep(serial: u16, phone: Option<&str>) -> Representative {
        let iin = (serial..9999)
            .find_map(|s| Iin::generate(date!(1985 - 01 - 01), Sex::Female, s))
            .expect("iin");
        Representative {
            iin,
            full_name: format!("Родитель {serial}"),
            phone: phone.map(str::to_string),
        }
    }

    #[tokio::test]
    async fn mother_first_then_father_then_guardian_skipping_missing_numbers() {
        let guardian = (rep(1, Some("+7 705 000 00 03")), Relation::Guardian);
        let father = (rep(100, Some("87010000002")), Relation::Father);
        let mother = (rep(200, Some("+7 (701) 000-00-01")), Relation::Mother);
        let dir = ListPhoneDirectory;
        let all = [guardian.clone(), father.clone(), mother.clone()];
        let c = dir.contact(&all).await.expect("lookup").expect("a contact");
        assert_eq!(
            (c.relation, c.phone.as_str()),
            (Relation::Mother, "77010000001")
        );
        let no_mum_phone = (rep(200, None), Relation::Mother);
        let c = dir
            .contact(&[guardian.clone(), no_mum_phone.clone(), father])
            .await
            .expect("lookup")
            .expect("a contact");
        assert_eq!(
            (c.relation, c.phone.as_str()),
            (Relation::Father, "77010000002")
        );
        let c = dir
            .contact(&[no_mum_phone.clone(), guardian])
            .await
            .expect("lookup")
            .expect("a contact");
        assert_eq!(c.relation, Relation::Guardian);
        let landline = (rep(300, Some("+7 727 000 00 00")), Relation::Father);
        assert_eq!(
            dir.contact(&[no_mum_phone, landline])
                .await
                .expect("lookup"),
            None
        );
    }
}
