//! The rules, one function per kind, each over the day's facts. Pure: the same facts give
//! the same signals, so a recomputed day replaces its signals exactly.

use std::collections::{BTreeMap, BTreeSet};

use time::{Duration, OffsetDateTime};

use super::{
    mask, DayFacts, Evidence, ManualCount, Outcome, Scan, Signal, SignalKind, Thresholds,
    MAX_EVIDENCE,
};
use crate::domain::meal::effective_slots;

/// Every signal of the day, ordered by kind and subject.
pub fn detect(facts: &DayFacts, th: &Thresholds) -> Vec<Signal> {
    let mut found = Vec::new();
    found.extend(pass_at_two_places(facts));
    found.extend(pass_and_card(facts, th));
    found.extend(denial_bursts(facts, th));
    found.extend(outside_hours(facts));
    found.extend(manual_share(facts, th));
    found.extend(mint_bursts(facts, th));
    found.sort_by(|a, b| (a.kind, &a.subject).cmp(&(b.kind, &b.subject)));
    found
}

fn signal(facts: &DayFacts, kind: SignalKind, subject: String, evidence: Vec<Evidence>) -> Signal {
    Signal {
        school: facts.school,
        day: facts.day,
        kind,
        subject,
        evidence: evidence.into_iter().take(MAX_EVIDENCE).collect(),
    }
}

fn here(facts: &DayFacts, scan: &Scan) -> bool {
    scan.terminal_school == facts.school
}

/// A scan as evidence: another school's terminal is not named.
fn scan_evidence(facts: &DayFacts, scan: &Scan, id: Option<String>) -> Evidence {
    let what = match &scan.outcome {
        Outcome::Meal(status) => format!("meal:{status}:{}", scan.method),
        Outcome::Denied(reason) => format!("denied:{reason}:{}", scan.method),
    };
    let (terminal, note) = if here(facts, scan) {
        (Some(scan.terminal_name.clone()), what)
    } else {
        (None, format!("{what}:other_school"))
    };
    Evidence {
        at: Some(scan.at),
        terminal,
        id,
        note,
    }
}

/// (a) One nonce at two terminals (of this school or another).
fn pass_at_two_places(facts: &DayFacts) -> Vec<Signal> {
    let mut by_nonce: BTreeMap<&str, Vec<&Scan>> = BTreeMap::new();
    for scan in &facts.scans {
        if let Some(nonce) = &scan.nonce {
            by_nonce.entry(nonce).or_default().push(scan);
        }
    }
    by_nonce
        .into_iter()
        .filter(|(_, scans)| {
            let terminals: BTreeSet<_> = scans.iter().map(|s| s.terminal).collect();
            terminals.len() >= 2 && scans.iter().any(|s| here(facts, s))
        })
        .map(|(nonce, mut scans)| {
            scans.sort_by_key(|s| s.at);
            let evidence = scans
                .iter()
                .map(|s| scan_evidence(facts, s, Some(mask(nonce))))
                .collect();
            signal(facts, SignalKind::PassAtTwoPlaces, mask(nonce), evidence)
        })
        .collect()
}

/// (b) A pass and a card of one child closer than the threshold.
fn pass_and_card(facts: &DayFacts, th: &Thresholds) -> Vec<Signal> {
    let mut by_voucher: BTreeMap<uuid::Uuid, Vec<&Scan>> = BTreeMap::new();
    for scan in facts.scans.iter().filter(|s| here(facts, s)) {
        if let Some(voucher) = scan.voucher {
            by_voucher.entry(voucher).or_default().push(scan);
        }
    }
    let mut found = Vec::new();
    for (voucher, scans) in by_voucher {
        let qr = scans.iter().filter(|s| s.method == "qr");
        let pair = qr
            .flat_map(|q| {
                scans
                    .iter()
                    .filter(|c| c.method == "card")
                    .map(move |c| (*q, *c))
            })
            .filter(|(q, c)| (q.at - c.at).abs() < th.pass_and_card_within)
            .min_by_key(|(q, c)| (q.at - c.at).abs());
        if let Some((q, c)) = pair {
            let id = mask(&voucher.to_string());
            let mut evidence = vec![
                scan_evidence(facts, q, Some(id.clone())),
                scan_evidence(facts, c, Some(id.clone())),
            ];
            evidence.sort_by_key(|e| e.at);
            found.push(signal(facts, SignalKind::PassAndCard, id, evidence));
        }
    }
    found
}

/// The largest run of instants (sorted) inside one window: its start and length.
fn densest(times: &[OffsetDateTime], within: Duration) -> (usize, usize) {
    let mut best = (0, 0);
    let mut start = 0;
    for end in 0..times.len() {
        while times[end] - times[start] >= within {
            start += 1;
        }
        if end + 1 - start > best.1 {
            best = (start, end + 1 - start);
        }
    }
    best
}

/// (c) Many refused scans at one terminal of this school within minutes.
fn denial_bursts(facts: &DayFacts, th: &Thresholds) -> Vec<Signal> {
    let mut by_terminal: BTreeMap<(String, uuid::Uuid), Vec<&Scan>> = BTreeMap::new();
    for scan in facts.scans.iter().filter(|s| here(facts, s)) {
        if matches!(scan.outcome, Outcome::Denied(_)) {
            let key = (scan.terminal_name.clone(), scan.terminal);
            by_terminal.entry(key).or_default().push(scan);
        }
    }
    let mut found = Vec::new();
    for ((name, _), mut scans) in by_terminal {
        scans.sort_by_key(|s| s.at);
        let times: Vec<_> = scans.iter().map(|s| s.at).collect();
        let (start, len) = densest(&times, th.burst_within);
        if len >= th.burst_denials {
            let evidence = scans[start..start + len]
                .iter()
                .map(|s| {
                    let id = s.voucher.map(|v| mask(&v.to_string()));
                    scan_evidence(facts, s, id.or_else(|| s.card.as_deref().map(mask)))
                })
                .collect();
            found.push(signal(facts, SignalKind::DenialBurst, name, evidence));
        }
    }
    found
}

/// (d) This school's meals outside every slot, or any meal on a day without school.
fn outside_hours(facts: &DayFacts) -> Vec<Signal> {
    let slots = effective_slots(&facts.slots);
    let outside = |s: &Scan| {
        let local = s.at.to_offset(shared::time::ASTANA);
        let minute = u16::from(local.hour()) * 60 + u16::from(local.minute());
        shared::sync::slot_at(&slots, minute).is_none()
    };
    let mut meals: Vec<&Scan> = facts
        .scans
        .iter()
        .filter(|s| here(facts, s) && matches!(s.outcome, Outcome::Meal(_)))
        .filter(|s| !facts.school_day || outside(s))
        .collect();
    if meals.is_empty() {
        return Vec::new();
    }
    meals.sort_by_key(|s| s.at);
    let subject = if facts.school_day {
        "outside_slots"
    } else {
        "non_school_day"
    };
    let evidence = meals
        .iter()
        .map(|s| scan_evidence(facts, s, s.voucher.map(|v| mask(&v.to_string()))))
        .collect();
    vec![signal(
        facts,
        SignalKind::OutsideHours,
        subject.into(),
        evidence,
    )]
}

/// Share of manual meals in percent.
fn percent(c: ManualCount) -> f64 {
    f64::from(c.manual) * 100.0 / f64::from(c.total.max(1))
}

/// The school's usual manual share: over its trailing days with enough meals, meals
/// weighted (a quiet day counts for less). `None` without such days.
pub(super) fn usual_share(before: &[ManualCount], th: &Thresholds) -> Option<f64> {
    let days: Vec<_> = before
        .iter()
        .filter(|c| c.total >= th.manual_min_meals)
        .take(th.manual_trailing_days)
        .collect();
    let total: u32 = days.iter().map(|c| c.total).sum();
    let manual: u32 = days.iter().map(|c| c.manual).sum();
    (total > 0).then(|| percent(ManualCount { manual, total }))
}

/// (e) Today's manual share far above the school's usual: at least `manual_factor` times and
/// `manual_min_excess` points above it. A school with no history is compared with zero.
fn manual_share(facts: &DayFacts, th: &Thresholds) -> Option<Signal> {
    let today = facts.manual_today;
    if today.total < th.manual_min_meals || today.manual == 0 {
        return None;
    }
    let usual = usual_share(&facts.manual_before, th).unwrap_or(0.0);
    let share = percent(today);
    if share < usual * th.manual_factor || share - usual < th.manual_min_excess {
        return None;
    }
    let note = format!(
        "manual {} of {} ({share:.1}%), usual {usual:.1}%",
        today.manual, today.total
    );
    let evidence = vec![Evidence {
        at: None,
        terminal: None,
        id: None,
        note,
    }];
    Some(signal(
        facts,
        SignalKind::ManualShare,
        "school".into(),
        evidence,
    ))
}

/// (f) One parent minting for many children (distinct vouchers) within minutes.
fn mint_bursts(facts: &DayFacts, th: &Thresholds) -> Vec<Signal> {
    let mut by_parent: BTreeMap<&str, Vec<&super::Mint>> = BTreeMap::new();
    for mint in &facts.mints {
        by_parent.entry(&mint.parent).or_default().push(mint);
    }
    let mut found = Vec::new();
    for (parent, mut mints) in by_parent {
        mints.sort_by_key(|m| m.first_at);
        let times: Vec<_> = mints.iter().map(|m| m.first_at).collect();
        let (start, len) = densest(&times, th.mint_within);
        if len >= th.mint_children {
            let evidence = mints[start..start + len]
                .iter()
                .map(|m| Evidence {
                    at: Some(m.first_at),
                    terminal: None,
                    id: Some(mask(&m.voucher.to_string())),
                    note: "pass_minted".into(),
                })
                .collect();
            found.push(signal(facts, SignalKind::MintBurst, mask(parent), evidence));
        }
    }
    found
}
