//! Tests 5, 7 and 11: guard time, pause and interruption, signalling speed, latency.

use super::super::generator::ToneShape;
use super::super::{ALL_DIGITS, Digit};
use super::codec_tests::Channel;
use super::tone_tests::decode;
use super::train::{TrainBuilder, ms, slot_counts, sweep};
use super::{Options, ReceiverUnderTest, Row};

/// Tone level of the timing tests, per tone.
const LEVEL_DBM0: f32 = -10.0;

/// Test 5: on-time from 49 ms down to 10 ms in steps of 0.125 ms, at every alignment.
pub(crate) fn guard_time(
    rx: &mut dyn ReceiverUnderTest,
    options: &Options,
    channel: Channel,
) -> Vec<Row> {
    let item = format!("guard time{}", channel.suffix());
    let requirement = "accept 40 ms, reject 23 ms";
    let mut t = TrainBuilder::new(channel.rate());
    let step = t.samples(0.125).max(1);
    let (lead, len) = (t.samples(20.0), t.samples(150.0) + 12);
    let durations: Vec<usize> = (t.samples(10.0)..=t.samples(49.0)).step_by(step).collect();
    let shape = ToneShape::at_level(LEVEL_DBM0);
    for &on in &durations {
        t.slot(len, lead, Some(Digit::D5), |b| {
            b.tone(Digit::D5, &shape, on);
        });
    }
    let train = match channel.transmit(&t.build()) {
        Ok(t) => t,
        Err(e) => return vec![Row::new(5, item, requirement, e, false)],
    };
    let runs = sweep(rx, &train, options);
    let once = slot_counts(&runs, durations.len(), |r, i| r.exactly_once(&train, i));
    let none = slot_counts(&runs, durations.len(), |r, i| r.count(i) == 0);
    let per_ms = f64::from(train.rate) / 1000.0;
    let to_ms = |s: usize| s as f64 / per_ms;
    // Shortest accepted at some alignment; longest missed at some alignment.
    let shortest = durations
        .iter()
        .zip(&once)
        .find(|&(_, &n)| n > 0)
        .map(|(&d, _)| to_ms(d));
    let longest_missed = durations
        .iter()
        .zip(&none)
        .rev()
        .find(|&(_, &n)| n > 0)
        .map(|(&d, _)| to_ms(d));
    let accept_ok = durations
        .iter()
        .zip(&once)
        .filter(|&(&d, _)| to_ms(d) >= 40.0)
        .all(|(_, &n)| n == runs.len());
    let reject_ok = durations
        .iter()
        .zip(&none)
        .filter(|&(&d, _)| to_ms(d) <= 23.0)
        .all(|(_, &n)| n == runs.len());
    let measured = format!(
        "shortest accepted {}, longest missed {}",
        shortest.map_or("none".into(), ms),
        longest_missed.map_or("none".into(), ms)
    );
    vec![Row::new(
        5,
        item,
        requirement,
        measured,
        accept_ok && reject_ok,
    )]
}

/// Test 7: two identical 50 ms digits with gaps of 5 … 60 ms; one 60 + 60 ms digit with a
/// drop-out of 1 … 20 ms; and the 93 ms signalling cycle. Steps of 0.125 ms, every alignment.
pub(crate) fn pause_and_interruption(
    rx: &mut dyn ReceiverUnderTest,
    options: &Options,
    channel: Channel,
) -> Vec<Row> {
    let mut rows = Vec::new();
    let shape = ToneShape::at_level(LEVEL_DBM0);
    let digit = Digit::D1;

    // Pause: two identical digits must be reported twice when the gap is ≥ 40 ms.
    let item = format!("pause between identical digits{}", channel.suffix());
    let requirement = "≥ 40 ms separates";
    let mut t = TrainBuilder::new(channel.rate());
    let step = t.samples(0.125).max(1);
    let (lead, on, len) = (t.samples(20.0), t.samples(50.0), t.samples(250.0) + 12);
    let gaps: Vec<usize> = (t.samples(5.0)..=t.samples(60.0)).step_by(step).collect();
    for &gap in &gaps {
        t.slot(len, lead, Some(digit), |b| {
            b.tone(digit, &shape, on)
                .silence(gap)
                .tone(digit, &shape, on);
        });
    }
    match channel.transmit(&t.build()) {
        Err(e) => rows.push(Row::new(7, item, requirement, e, false)),
        Ok(train) => {
            let runs = sweep(rx, &train, options);
            let right = |r: &super::train::AlignmentRun, i: usize| {
                r.per_slot[i].iter().all(|d| d.digit == digit)
            };
            let two = slot_counts(&runs, gaps.len(), |r, i| r.count(i) == 2 && right(r, i));
            let one = slot_counts(&runs, gaps.len(), |r, i| r.count(i) == 1 && right(r, i));
            let to_ms = |s: usize| s as f64 * 1000.0 / f64::from(train.rate);
            let always_two = gaps
                .iter()
                .zip(&two)
                .rev()
                .take_while(|&(_, &n)| n == runs.len())
                .last()
                .map(|(&g, _)| to_ms(g));
            let always_one = gaps
                .iter()
                .zip(&one)
                .take_while(|&(_, &n)| n == runs.len())
                .last()
                .map(|(&g, _)| to_ms(g));
            let pass = gaps
                .iter()
                .zip(&two)
                .filter(|&(&g, _)| to_ms(g) >= 40.0)
                .all(|(_, &n)| n == runs.len());
            let measured = format!(
                "separated from {} at every alignment; merged up to {}",
                always_two.map_or("never".into(), ms),
                always_one.map_or("never".into(), ms)
            );
            rows.push(Row::new(7, item, requirement, measured, pass));
        }
    }

    // Interruption: a drop-out of up to 10 ms inside one digit must not give a second digit.
    let item = format!("drop-out inside one digit{}", channel.suffix());
    let requirement = "≤ 10 ms bridged";
    let mut t = TrainBuilder::new(channel.rate());
    let (lead, half, len) = (t.samples(20.0), t.samples(60.0), t.samples(250.0) + 12);
    let drops: Vec<usize> = (t.samples(1.0)..=t.samples(20.0)).step_by(step).collect();
    for &drop in &drops {
        t.slot(len, lead, Some(digit), |b| {
            b.tone_with_dropout(digit, &shape, half, drop, half);
        });
    }
    match channel.transmit(&t.build()) {
        Err(e) => rows.push(Row::new(7, item, requirement, e, false)),
        Ok(train) => {
            let runs = sweep(rx, &train, options);
            let once = slot_counts(&runs, drops.len(), |r, i| r.exactly_once(&train, i));
            let to_ms = |s: usize| s as f64 * 1000.0 / f64::from(train.rate);
            let bridged = drops
                .iter()
                .zip(&once)
                .take_while(|&(_, &n)| n == runs.len())
                .last()
                .map(|(&d, _)| to_ms(d));
            let pass = drops
                .iter()
                .zip(&once)
                .filter(|&(&d, _)| to_ms(d) <= 10.0)
                .all(|(_, &n)| n == runs.len());
            let measured = format!(
                "bridged up to {} at every alignment",
                bridged.map_or("none".into(), ms)
            );
            rows.push(Row::new(7, item, requirement, measured, pass));
        }
    }

    // Signalling speed: all 16 digits at a 93 ms cycle, with the shortest allowed tone or pause.
    let item = format!("signalling speed, 93 ms cycle{}", channel.suffix());
    let requirement = "every digit once";
    let mut t = TrainBuilder::new(channel.rate());
    let cycle = t.samples(93.0);
    let mut splits = Vec::new();
    for on_ms in [40.0, 46.5, 53.0] {
        let on = t.samples(on_ms);
        splits.push(on_ms);
        for digit in ALL_DIGITS {
            t.slot(cycle, 0, Some(digit), |b| {
                b.tone(digit, &shape, on);
            });
        }
    }
    match channel.transmit(&t.build()) {
        Err(e) => rows.push(Row::new(7, item, requirement, e, false)),
        Ok(train) => {
            let runs = sweep(rx, &train, options);
            let worst = runs
                .iter()
                .map(|r| {
                    (0..train.slots.len())
                        .filter(|&i| r.exactly_once(&train, i))
                        .count()
                })
                .min()
                .unwrap_or(0);
            let total = train.slots.len();
            let measured = format!("{worst}/{total} at on-times 40, 46.5, 53 ms, worst alignment");
            rows.push(Row::new(7, item, requirement, measured, worst == total));
        }
    }
    rows
}

/// Median and maximum of `values` (sorted in place).
pub(crate) fn median_max(values: &mut [f64]) -> Option<(f64, f64)> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let n = values.len();
    let median = if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    };
    Some((median, values[n - 1]))
}

/// Test 11: onset to report over every burst of test 1 at every alignment, at 8 and 16 kHz.
pub(crate) fn latency(rx: &mut dyn ReceiverUnderTest, options: &Options) -> Vec<Row> {
    let mut rows = Vec::new();
    for channel in [Channel::Linear8k, Channel::Linear16k] {
        let mut result = decode(rx, options, channel);
        let item = format!("latency onset → digit{}", channel.suffix());
        let requirement = "median ≤ 30 ms, max ≤ 40 ms";
        let row = match median_max(&mut result.latencies_ms) {
            Some((median, max)) => Row::new(
                11,
                item,
                requirement,
                format!(
                    "median {}, max {} over {} bursts",
                    ms(median),
                    ms(max),
                    result.latencies_ms.len()
                ),
                median <= 30.0 && max <= 40.0,
            ),
            None => Row::new(11, item, requirement, "nothing detected", false),
        };
        rows.push(row);
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_even_and_odd_counts() {
        assert_eq!(median_max(&mut [3.0, 1.0, 2.0]), Some((2.0, 3.0)));
        assert_eq!(median_max(&mut [4.0, 1.0, 3.0, 2.0]), Some((2.5, 4.0)));
        assert_eq!(median_max(&mut []), None);
    }
}
