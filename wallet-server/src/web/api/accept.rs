//! `Accept` header negotiation, once for every route that answers more than one media
//! type (passes, metrics): quality values honoured, the earlier entry wins a tie.

/// The best of `accept`'s media ranges that `classify` maps to one of ours (it gets the
/// lower-cased media range without parameters); `None` when none is acceptable.
pub(super) fn preferred<T: Copy>(accept: &str, classify: impl Fn(&str) -> Option<T>) -> Option<T> {
    let mut best: Option<(f32, T)> = None;
    for item in accept.split(',') {
        let mut parts = item.split(';');
        let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let quality = parts
            .filter_map(|p| p.trim().strip_prefix("q="))
            .find_map(|q| q.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        let Some(ours) = classify(&media) else {
            continue;
        };
        if quality <= 0.0 {
            continue;
        }
        if best.is_none_or(|(q, _)| quality > q) {
            best = Some((quality, ours));
        }
    }
    best.map(|(_, ours)| ours)
}
