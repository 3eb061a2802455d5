//! Tests 5, 7 and 11: guard time, pause and interruption, signalling speed, latency.
//!
//! Tests 5 and 7 also run through the codecs of test 9: each train has a builder (pure, any
//! thread) and an evaluation of the received train. Durations are swept in steps of
//! [`Resolution::step_ms`]; a slot's `param` is its swept duration in samples.

use super::super::generator::ToneShape;
use super::super::{ALL_DIGITS, Digit};
use super::codec_tests::Channel;
use super::tone_tests::{Received, decode};
use super::train::{AlignmentRun, Resolution, Train, TrainBuilder, ms, slot_counts, sweep};
use super::{Options, ReceiverUnderTest, Row};

/// Tone level of the timing tests, per tone.
const LEVEL_DBM0: f32 = -10.0;

/// Sample counts from `from_ms` to `to_ms` in steps of `resolution`.
fn durations(t: &TrainBuilder, from_ms: f32, to_ms: f32, resolution: Resolution) -> Vec<usize> {
    let step = t.samples(resolution.step_ms()).max(1);
    (t.samples(from_ms)..=t.samples(to_ms))
        .step_by(step)
        .collect()
}

/// The guard-time train: digit 5 with on-times from 10 ms to 49 ms.
pub(crate) fn guard_train(rate: u32, resolution: Resolution) -> Train {
    let mut t = TrainBuilder::new(rate);
    let (lead, len) = (t.samples(20.0), t.samples(110.0) + 12);
    let shape = ToneShape::at_level(LEVEL_DBM0);
    for on in durations(&t, 10.0, 49.0, resolution) {
        t.slot(len, lead, Some(Digit::D5), on as i64, |b| {
            b.tone(Digit::D5, &shape, on);
        });
    }
    t.build()
}

/// Test 5 on a received guard-time train.
pub(crate) fn guard_rows(
    rx: &mut dyn ReceiverUnderTest,
    options: &Options,
    channel: Channel,
    received: Received,
) -> Row {
    let item = format!("guard time{}", channel.suffix());
    let requirement = "accept 40 ms, reject 23 ms";
    let train = match received {
        Ok(t) => t,
        Err(e) => return Row::new(5, item, requirement, e, false),
    };
    let runs = sweep(rx, &train, options);
    let n = train.slots.len();
    let once = slot_counts(&runs, n, |r, i| r.exactly_once(&train, i));
    let none = slot_counts(&runs, n, |r, i| r.count(i) == 0);
    let to_ms = |i: usize| train.slots[i].param as f64 * 1000.0 / f64::from(train.rate);
    // Shortest accepted at some alignment; longest missed at some alignment.
    let shortest = (0..n).find(|&i| once[i] > 0).map(to_ms);
    let longest_missed = (0..n).rev().find(|&i| none[i] > 0).map(to_ms);
    let accept_ok = (0..n)
        .filter(|&i| to_ms(i) >= 40.0)
        .all(|i| once[i] == runs.len());
    let reject_ok = (0..n)
        .filter(|&i| to_ms(i) <= 23.0)
        .all(|i| none[i] == runs.len());
    let measured = format!(
        "shortest accepted {}, longest missed {}",
        shortest.map_or("none".into(), ms),
        longest_missed.map_or("none".into(), ms)
    );
    Row::new(5, item, requirement, measured, accept_ok && reject_ok)
}

/// Test 5 through `channel`.
pub(crate) fn guard_time(
    rx: &mut dyn ReceiverUnderTest,
    options: &Options,
    channel: Channel,
) -> Vec<Row> {
    let received = channel.transmit(&guard_train(channel.rate(), Resolution::Fine));
    vec![guard_rows(rx, options, channel, received)]
}

/// The digit of test 7.
const PAUSE_DIGIT: Digit = Digit::D1;

/// Two identical 50 ms digits with gaps from 5 ms to 60 ms.
pub(crate) fn pause_train(rate: u32, resolution: Resolution) -> Train {
    let mut t = TrainBuilder::new(rate);
    let shape = ToneShape::at_level(LEVEL_DBM0);
    let (lead, on, len) = (t.samples(20.0), t.samples(50.0), t.samples(230.0) + 12);
    for gap in durations(&t, 5.0, 60.0, resolution) {
        t.slot(len, lead, Some(PAUSE_DIGIT), gap as i64, |b| {
            b.tone(PAUSE_DIGIT, &shape, on)
                .silence(gap)
                .tone(PAUSE_DIGIT, &shape, on);
        });
    }
    t.build()
}

/// One 60 + 60 ms digit with a drop-out of 1 ms to 20 ms.
pub(crate) fn dropout_train(rate: u32, resolution: Resolution) -> Train {
    let mut t = TrainBuilder::new(rate);
    let shape = ToneShape::at_level(LEVEL_DBM0);
    let (lead, half, len) = (t.samples(20.0), t.samples(60.0), t.samples(230.0) + 12);
    for drop in durations(&t, 1.0, 20.0, resolution) {
        t.slot(len, lead, Some(PAUSE_DIGIT), drop as i64, |b| {
            b.tone_with_dropout(PAUSE_DIGIT, &shape, half, drop, half);
        });
    }
    t.build()
}

/// All 16 digits at a 93 ms cycle with on-times 40, 46.5 and 53 ms (`param` in tenths of ms).
pub(crate) fn speed_train(rate: u32) -> Train {
    let mut t = TrainBuilder::new(rate);
    let shape = ToneShape::at_level(LEVEL_DBM0);
    let cycle = t.samples(93.0);
    for on_tenths in [400, 465, 530] {
        let on = t.samples(on_tenths as f32 / 10.0);
        for digit in ALL_DIGITS {
            t.slot(cycle, 0, Some(digit), on_tenths, |b| {
                b.tone(digit, &shape, on);
            });
        }
    }
    t.build()
}

/// Test 7 on received pause, drop-out and speed trains.
pub(crate) fn pause_rows(
    rx: &mut dyn ReceiverUnderTest,
    options: &Options,
    channel: Channel,
    [pause, dropout, speed]: [Received; 3],
) -> Vec<Row> {
    let mut rows = Vec::new();
    let ms_of =
        |train: &Train, i: usize| train.slots[i].param as f64 * 1000.0 / f64::from(train.rate);
    let right = |r: &AlignmentRun, i: usize| r.per_slot[i].iter().all(|d| d.digit == PAUSE_DIGIT);

    // Pause: two identical digits must be reported twice when the gap is ≥ 40 ms.
    let item = format!("pause between identical digits{}", channel.suffix());
    let requirement = "≥ 40 ms separates";
    rows.push(match pause {
        Err(e) => Row::new(7, item, requirement, e, false),
        Ok(train) => {
            let runs = sweep(rx, &train, options);
            let n = train.slots.len();
            let two = slot_counts(&runs, n, |r, i| r.count(i) == 2 && right(r, i));
            let one = slot_counts(&runs, n, |r, i| r.count(i) == 1 && right(r, i));
            let always_two = (0..n)
                .rev()
                .take_while(|&i| two[i] == runs.len())
                .last()
                .map(|i| ms_of(&train, i));
            let always_one = (0..n)
                .take_while(|&i| one[i] == runs.len())
                .last()
                .map(|i| ms_of(&train, i));
            let pass = (0..n)
                .filter(|&i| ms_of(&train, i) >= 40.0)
                .all(|i| two[i] == runs.len());
            let measured = format!(
                "separated from {} at every alignment; merged up to {}",
                always_two.map_or("never".into(), ms),
                always_one.map_or("never".into(), ms)
            );
            Row::new(7, item, requirement, measured, pass)
        }
    });

    // Interruption: a drop-out of up to 10 ms inside one digit must not give a second digit.
    let item = format!("drop-out inside one digit{}", channel.suffix());
    let requirement = "≤ 10 ms bridged";
    rows.push(match dropout {
        Err(e) => Row::new(7, item, requirement, e, false),
        Ok(train) => {
            let runs = sweep(rx, &train, options);
            let n = train.slots.len();
            let once = slot_counts(&runs, n, |r, i| r.exactly_once(&train, i));
            let bridged = (0..n)
                .take_while(|&i| once[i] == runs.len())
                .last()
                .map(|i| ms_of(&train, i));
            let pass = (0..n)
                .filter(|&i| ms_of(&train, i) <= 10.0)
                .all(|i| once[i] == runs.len());
            let measured = format!(
                "bridged up to {} at every alignment",
                bridged.map_or("none".into(), ms)
            );
            Row::new(7, item, requirement, measured, pass)
        }
    });

    // Signalling speed: all 16 digits at a 93 ms cycle.
    let item = format!("signalling speed, 93 ms cycle{}", channel.suffix());
    let requirement = "every digit once";
    rows.push(match speed {
        Err(e) => Row::new(7, item, requirement, e, false),
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
            Row::new(7, item, requirement, measured, worst == total)
        }
    });
    rows
}

/// Test 7 through `channel`.
pub(crate) fn pause_and_interruption(
    rx: &mut dyn ReceiverUnderTest,
    options: &Options,
    channel: Channel,
) -> Vec<Row> {
    let rate = channel.rate();
    let received = [
        channel.transmit(&pause_train(rate, Resolution::Fine)),
        channel.transmit(&dropout_train(rate, Resolution::Fine)),
        channel.transmit(&speed_train(rate)),
    ];
    pause_rows(rx, options, channel, received)
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
