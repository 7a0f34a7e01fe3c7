//! An in-memory wallet server for the sync tests: keeps meals by event id the way the real
//! server promises to (a replay gets the same verdicts; one billed meal per voucher, day and
//! slot), and can lose requests or answers on demand.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};

use shared::pass::PassSigner;
use shared::sync::{
    EnrollRequest, EnrollResponse, MealBatch, MealBatchResult, MealResult, MealSlot, MealVerdict,
    SchoolInfo, SyncResponse,
};
use shared::{Bin, VoucherId};
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use super::{Server, ServerError};
use crate::store::DeviceToken;

pub const SCHOOL: &str = "990340001230";
pub const NOW: OffsetDateTime = time::macros::datetime!(2026-09-01 06:00 UTC);

/// What the fake does with the next push.
#[derive(Debug, Clone, Copy)]
pub enum PushFault {
    /// The request never arrives.
    Lost,
    /// The server stores the batch, then dies before answering.
    AnswerLost,
}

#[derive(Default)]
pub struct FakeState {
    pub enroll: Option<Result<EnrollResponse, ServerError>>,
    pub revoked: bool,
    pub server_ahead: time::Duration,
    pub school: Option<Bin>,
    pub push_faults: VecDeque<Option<PushFault>>,
    pub pushes: Vec<Vec<Uuid>>,
    pub verdicts: HashMap<Uuid, MealVerdict>,
    pub billed: HashSet<(VoucherId, Date, String)>,
    pub pulls: Vec<i64>,
    pub meals_after: Vec<Option<i64>>,
    /// The server does not answer at all (pulls, pushes and the health probe fail).
    pub down: bool,
    pub probes: u64,
    pub progress: Option<shared::counter::Progress>,
    pub meals_seen: Vec<shared::counter::MealSeen>,
    pub meals_cursor: Option<i64>,
    pub voids: Vec<shared::counter::MealVoid>,
    pub denials: Vec<shared::counter::ScanDenial>,
    /// Answers no voids, like a server from before voids.
    pub ignore_voids: bool,
}

#[derive(Clone, Default)]
pub struct FakeServer(Arc<Mutex<FakeState>>);

impl FakeServer {
    pub fn with<T>(&self, f: impl FnOnce(&mut FakeState) -> T) -> T {
        f(&mut self.0.lock().expect("fake lock"))
    }

    fn check(&self, token: &DeviceToken) -> Result<(), ServerError> {
        if token.expose() != "token-1" || self.with(|s| s.revoked) {
            return Err(ServerError::Unauthorized);
        }
        Ok(())
    }
}

impl Server for FakeServer {
    fn healthy(&self) -> bool {
        self.probe()
    }

    fn enroll(&self, _request: &EnrollRequest) -> Result<EnrollResponse, ServerError> {
        self.with(|s| s.enroll.clone())
            .unwrap_or_else(|| Ok(enrolled(SCHOOL)))
    }

    fn pull(
        &self,
        token: &DeviceToken,
        cursor: i64,
        meals_after: Option<i64>,
    ) -> Result<SyncResponse, ServerError> {
        self.check(token)?;
        if self.with(|s| s.down) {
            return Err(ServerError::Unreachable("connection refused".into()));
        }
        let (signer, _) = PassSigner::generate().expect("key");
        let mut keys = shared::pass::KeySet::new();
        keys.insert(signer.public_key());
        self.with(|s| {
            s.pulls.push(cursor);
            s.meals_after.push(meals_after);
            Ok(SyncResponse {
                school: SchoolInfo {
                    bin: s.school.unwrap_or_else(|| SCHOOL.parse().expect("bin")),
                    name: "Школа".into(),
                },
                cursor: cursor + 1,
                roster: Vec::new(),
                full: cursor == 0,
                keys: keys.published(),
                slots: vec![MealSlot::whole_day()],
                server_time: NOW + s.server_ahead,
                progress: s.progress.clone(),
                meals_seen: s.meals_seen.clone(),
                meals_cursor: s.meals_cursor,
            })
        })
    }

    fn push(&self, token: &DeviceToken, batch: &MealBatch) -> Result<MealBatchResult, ServerError> {
        self.check(token)?;
        self.with(|s| {
            let fault = s.push_faults.pop_front().flatten();
            if s.down || matches!(fault, Some(PushFault::Lost)) {
                return Err(ServerError::Unreachable("connection refused".into()));
            }
            s.pushes
                .push(batch.events.iter().map(|e| e.event_id).collect());
            let mut results = Vec::new();
            for event in &batch.events {
                let key = (event.voucher_id, event.service_day, event.slot.to_string());
                let status = *s.verdicts.entry(event.event_id).or_insert_with(|| {
                    if s.billed.insert(key) {
                        MealVerdict::Accepted
                    } else {
                        MealVerdict::Duplicate
                    }
                });
                results.push(MealResult {
                    event_id: event.event_id,
                    status,
                    reason: None,
                });
            }
            s.denials.extend(batch.denials.iter().cloned());
            s.voids.extend(batch.voids.iter().cloned());
            let voids = batch
                .voids
                .iter()
                .filter(|_| !s.ignore_voids)
                .map(|v| shared::counter::VoidResult {
                    event_id: v.event_id,
                    status: if s.verdicts.contains_key(&v.event_id) {
                        shared::counter::VoidVerdict::Voided
                    } else {
                        shared::counter::VoidVerdict::Rejected
                    },
                    reason: (!s.verdicts.contains_key(&v.event_id))
                        .then(|| "unknown_meal".to_owned()),
                })
                .collect();
            match fault {
                Some(PushFault::AnswerLost) => Err(ServerError::Failed {
                    status: 502,
                    message: "restarting".into(),
                }),
                _ => Ok(MealBatchResult { results, voids }),
            }
        })
    }
}

impl FakeServer {
    /// The health probe: answers unless the server is down.
    pub fn probe(&self) -> bool {
        self.with(|s| {
            s.probes += 1;
            !s.down
        })
    }
}

pub fn enrolled(bin: &str) -> EnrollResponse {
    EnrollResponse {
        terminal_id: Uuid::now_v7(),
        token: "token-1".into(),
        school: SchoolInfo {
            bin: bin.parse().expect("bin"),
            name: "Школа".into(),
        },
    }
}
