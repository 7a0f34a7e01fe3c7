//! The two exposition formats `/metrics` speaks. `prometheus-client` encodes OpenMetrics
//! 1.0 only; the Prometheus text format 0.0.4 is derived from it here, because Prometheus
//! servers before 2.5, `promtool check metrics` and many scrapers ask for it. The sample
//! lines are the same in both; only the metadata differs: 0.0.4 names a counter's family
//! by its `_total` sample and an info metric by its `_info` sample (typed `gauge`), and has
//! no `# UNIT` and no `# EOF`.

/// Which format a scrape gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    OpenMetrics,
    Text004,
}

impl Format {
    pub fn content_type(self) -> &'static str {
        match self {
            Format::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
            Format::Text004 => "text/plain; version=0.0.4; charset=utf-8",
        }
    }
}

/// Rewrites OpenMetrics text (as `prometheus-client` writes it: `# HELP`, then `# TYPE`,
/// then maybe `# UNIT`, per family) as text format 0.0.4.
pub fn text_004(openmetrics: &str) -> String {
    let mut out = String::with_capacity(openmetrics.len());
    let mut lines = openmetrics.lines().peekable();
    while let Some(line) = lines.next() {
        if line == "# EOF" || line.starts_with("# UNIT ") {
            continue;
        }
        let Some(rest) = line.strip_prefix("# HELP ") else {
            out.push_str(line);
            out.push('\n');
            continue;
        };
        let (name, help) = rest.split_once(' ').unwrap_or((rest, ""));
        let kind = lines
            .peek()
            .and_then(|next| next.strip_prefix("# TYPE "))
            .and_then(|t| t.strip_prefix(name))
            .and_then(|t| t.strip_prefix(' '))
            .map(str::to_owned);
        if kind.is_some() {
            lines.next(); // the `# TYPE` line, rewritten below
        }
        let (name, kind) = match kind.as_deref() {
            Some("counter") => (format!("{name}_total"), "counter"),
            Some("info") => (format!("{name}_info"), "gauge"),
            Some("stateset") => (name.to_string(), "gauge"),
            Some("unknown") => (name.to_string(), "untyped"),
            Some("gauge") => (name.to_string(), "gauge"),
            Some("histogram") => (name.to_string(), "histogram"),
            Some("summary") => (name.to_string(), "summary"),
            _ => (name.to_string(), "untyped"),
        };
        out.push_str(&format!("# HELP {name} {help}\n# TYPE {name} {kind}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_info_and_units_are_rewritten() {
        let om = "# HELP wallet_meals Meals.\n# TYPE wallet_meals counter\n\
                  wallet_meals_total{outcome=\"accepted\"} 3\n\
                  # HELP wallet_build Build.\n# TYPE wallet_build info\n\
                  wallet_build_info{version=\"0.1.0\"} 1\n\
                  # HELP x_seconds X.\n# TYPE x_seconds gauge\n# UNIT x_seconds seconds\n\
                  x_seconds 1.5\n# EOF\n";
        assert_eq!(
            text_004(om),
            "# HELP wallet_meals_total Meals.\n# TYPE wallet_meals_total counter\n\
             wallet_meals_total{outcome=\"accepted\"} 3\n\
             # HELP wallet_build_info Build.\n# TYPE wallet_build_info gauge\n\
             wallet_build_info{version=\"0.1.0\"} 1\n\
             # HELP x_seconds X.\n# TYPE x_seconds gauge\nx_seconds 1.5\n"
        );
    }

    #[test]
    fn histograms_pass_through() {
        let om = "# HELP h Latency.\n# TYPE h histogram\nh_bucket{le=\"+Inf\"} 1\nh_sum 0.1\nh_count 1\n# EOF\n";
        let text = text_004(om);
        assert!(
            text.contains("# TYPE h histogram\nh_bucket{le=\"+Inf\"} 1\n"),
            "{text}"
        );
        assert!(!text.contains("# EOF"));
    }
}
