//! What every benchmark prints: medians and percentiles, and the table of
//! figures beside their baselines and goals. Shared by `benches/*.rs`
//! through `#[path]` (a bench is a crate of its own).
#![allow(dead_code)]

use std::time::Duration;

pub fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let n = s.len();
    if n == 0 {
        return f64::NAN;
    }
    if n % 2 == 1 {
        s[n / 2]
    } else {
        (s[n / 2 - 1] + s[n / 2]) / 2.0
    }
}

pub fn percentile(v: &[f64], p: f64) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    if s.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * s.len() as f64).ceil() as usize;
    s[rank.clamp(1, s.len()) - 1]
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

pub fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

pub fn round(x: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (x * f).round() / f
}

/// One printed row: what, Runyard's figure, the baseline, the goal, met or not.
pub struct Row {
    pub what: String,
    pub figure: String,
    pub baseline: String,
    pub goal: String,
    pub met: Option<bool>,
}

pub fn verdict(met: Option<bool>) -> &'static str {
    match met {
        Some(true) => "ok",
        Some(false) => "MISSED",
        None => "-",
    }
}

pub fn print_table(rows: &[Row]) {
    let w = |f: fn(&Row) -> &str, title: &str| {
        rows.iter()
            .map(|r| f(r).chars().count())
            .chain([title.len()])
            .max()
            .unwrap()
    };
    let (w0, w1, w2, w3) = (
        w(|r| &r.what, "figure"),
        w(|r| &r.figure, "runyard"),
        w(|r| &r.baseline, "baseline (same run)"),
        w(|r| &r.goal, "goal"),
    );
    println!();
    println!(
        "{:<w0$}  {:<w1$}  {:<w2$}  {:<w3$}  verdict",
        "figure", "runyard", "baseline (same run)", "goal"
    );
    println!("{}", "-".repeat(w0 + w1 + w2 + w3 + 8 + 7));
    for r in rows {
        println!(
            "{:<w0$}  {:<w1$}  {:<w2$}  {:<w3$}  {}",
            r.what,
            r.figure,
            r.baseline,
            r.goal,
            verdict(r.met)
        );
    }
    println!();
}
