//! Tests 1–4: decode, bandwidth, twist, dynamic range.
//!
//! Tests 1 and 2 also run through the codecs of test 9, so each is split into a train builder (pure,
//! run on any thread) and an evaluation of the received train.

use super::super::generator::ToneShape;
use super::super::{ALL_DIGITS, Digit};
use super::codec_tests::Channel;
use super::train::{Train, TrainBuilder, slot_counts, sweep};
use super::{Options, ReceiverUnderTest, Row};

/// The digits tests 2 and 3 use: one from each row and column.
const DIAGONAL: [Digit; 4] = [Digit::D1, Digit::D5, Digit::D9, Digit::D];

/// A received train, or why the channel could not carry it.
pub(crate) type Received = Result<Train, String>;

/// The result of test 1, with the onset-to-report delays test 11 summarises.
pub(crate) struct DecodeResult {
    pub rows: Vec<Row>,
    /// Delay from onset to report for every burst at every alignment, in ms.
    pub latencies_ms: Vec<f64>,
}

/// The train of test 1: 16 digits × 10 at 50 ms on / 50 ms off, −4 dBm0 per tone.
pub(crate) fn decode_train(rate: u32) -> Train {
    let mut t = TrainBuilder::new(rate);
    let on = t.samples(50.0);
    let shape = ToneShape::at_level(-4.0);
    for _ in 0..10 {
        for digit in ALL_DIGITS {
            t.slot(2 * on, 0, Some(digit), 0, |b| {
                b.tone(digit, &shape, on);
            });
        }
    }
    t.build()
}

/// Test 1 on a received decode train: every burst exactly once at every alignment.
pub(crate) fn decode_rows(
    rx: &mut dyn ReceiverUnderTest,
    options: &Options,
    channel: Channel,
    received: Received,
) -> DecodeResult {
    let item = format!("decode 16×10{}", channel.suffix());
    let train = match received {
        Ok(t) => t,
        Err(e) => {
            return DecodeResult {
                rows: vec![Row::new(1, item, "160/160", e, false)],
                latencies_ms: Vec::new(),
            };
        }
    };
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
    let extra = runs.iter().map(|r| r.stray).sum::<usize>();
    let per_ms = f64::from(train.rate) / 1000.0;
    let latencies_ms = runs
        .iter()
        .flat_map(|r| {
            r.per_slot.iter().zip(&train.slots).filter_map(|(d, s)| {
                d.first()
                    .map(|d| (d.reported_at as f64 - s.onset as f64) / per_ms)
            })
        })
        .collect();
    let measured = format!("{worst}/160 at the worst of {} alignments", runs.len());
    DecodeResult {
        rows: vec![Row::new(
            1,
            item,
            "160/160",
            measured,
            worst == 160 && extra == 0,
        )],
        latencies_ms,
    }
}

/// Test 1 through `channel`.
pub(crate) fn decode(
    rx: &mut dyn ReceiverUnderTest,
    options: &Options,
    channel: Channel,
) -> DecodeResult {
    let received = channel.transmit(&decode_train(channel.rate()));
    decode_rows(rx, options, channel, received)
}

/// Range of steps around 0 for which `ok` holds contiguously, as (lowest, highest).
fn contiguous(steps: &[i64], ok: &[bool]) -> Option<(i64, i64)> {
    let zero = steps.iter().position(|&s| s == 0)?;
    if !ok[zero] {
        return None;
    }
    let mut lo = zero;
    while lo > 0 && ok[lo - 1] {
        lo -= 1;
    }
    let mut hi = zero;
    while hi + 1 < steps.len() && ok[hi + 1] {
        hi += 1;
    }
    Some((steps[lo], steps[hi]))
}

/// The bandwidth train of one group (0 low, 1 high): digits 1, 5, 9, D with that group shifted
/// from −6 % to +6 % in 0.1 % steps (the slot's `param`, in tenths of a percent), −17 dBm0,
/// 50 ms bursts.
pub(crate) fn bandwidth_train(rate: u32, group: usize) -> Train {
    let mut t = TrainBuilder::new(rate);
    let (lead, on, len) = (t.samples(20.0), t.samples(50.0), t.samples(110.0) + 12);
    for &digit in &DIAGONAL {
        for step in -60..=60i64 {
            let pct = step as f32 / 10.0;
            let shape = if group == 0 {
                ToneShape::at_level(-17.0).offset(pct, 0.0)
            } else {
                ToneShape::at_level(-17.0).offset(0.0, pct)
            };
            t.slot(len, lead, Some(digit), step, |b| {
                b.tone(digit, &shape, on);
            });
        }
    }
    t.build()
}

/// Test 2 on a received bandwidth train of `group`.
pub(crate) fn bandwidth_rows(
    rx: &mut dyn ReceiverUnderTest,
    options: &Options,
    channel: Channel,
    group: usize,
    received: Received,
) -> Row {
    let label = if group == 0 { "low" } else { "high" };
    let item = format!("bandwidth, {label} group{}", channel.suffix());
    let requirement = "accept ±1.5 %, reject beyond ±3.5 %";
    let train = match received {
        Ok(t) => t,
        Err(e) => return Row::new(2, item, requirement, e, false),
    };
    let runs = sweep(rx, &train, options);
    let all = slot_counts(&runs, train.slots.len(), |r, i| r.exactly_once(&train, i));
    let any = slot_counts(&runs, train.slots.len(), |r, i| r.count(i) > 0);
    let (mut lo, mut hi) = (i64::MIN, i64::MAX);
    let (mut seen_lo, mut seen_hi) = (0, 0);
    let per_digit = train.slots.len() / DIAGONAL.len();
    for d in 0..DIAGONAL.len() {
        let range = d * per_digit..(d + 1) * per_digit;
        let steps: Vec<i64> = train.slots[range.clone()].iter().map(|s| s.param).collect();
        let ok: Vec<bool> = all[range.clone()]
            .iter()
            .map(|&n| n == runs.len())
            .collect();
        let (a, b) = contiguous(&steps, &ok).unwrap_or((1, -1));
        lo = lo.max(a);
        hi = hi.min(b);
        for (&step, &n) in steps.iter().zip(&any[range]) {
            if n > 0 {
                seen_lo = seen_lo.min(step);
                seen_hi = seen_hi.max(step);
            }
        }
    }
    let pass = lo <= -15 && hi >= 15 && seen_lo >= -35 && seen_hi <= 35;
    let measured = if lo <= hi {
        format!(
            "accepted {:+.1} … {:+.1} %, any detection {:+.1} … {:+.1} %",
            lo as f32 / 10.0,
            hi as f32 / 10.0,
            seen_lo as f32 / 10.0,
            seen_hi as f32 / 10.0
        )
    } else {
        "nominal frequency not accepted at every alignment".into()
    };
    Row::new(2, item, requirement, measured, pass)
}

/// Test 2 through `channel`: both groups.
pub(crate) fn bandwidth(
    rx: &mut dyn ReceiverUnderTest,
    options: &Options,
    channel: Channel,
) -> Vec<Row> {
    (0..2)
        .map(|group| {
            let received = channel.transmit(&bandwidth_train(channel.rate(), group));
            bandwidth_rows(rx, options, channel, group, received)
        })
        .collect()
}

/// Test 3: one tone at −3 dBm0, the other stepped down in 0.1 dB steps.
pub(crate) fn twist(rx: &mut dyn ReceiverUnderTest, options: &Options) -> Vec<Row> {
    let mut rows = Vec::new();
    // (which tone is stepped down, largest attenuation tried in tenths of dB, required accept)
    for (high_down, max_tenths, required) in [(true, 150, 80), (false, 100, 40)] {
        let steps: Vec<i64> = (0..=max_tenths).collect();
        let mut t = TrainBuilder::new(8000);
        let (lead, on, len) = (t.samples(20.0), t.samples(50.0), t.samples(110.0) + 12);
        for &digit in &DIAGONAL {
            for &step in &steps {
                let down = -3.0 - step as f32 / 10.0;
                let shape = if high_down {
                    ToneShape::with_levels(-3.0, down)
                } else {
                    ToneShape::with_levels(down, -3.0)
                };
                t.slot(len, lead, Some(digit), step, |b| {
                    b.tone(digit, &shape, on);
                });
            }
        }
        let train = t.build();
        let runs = sweep(rx, &train, options);
        let all = slot_counts(&runs, train.slots.len(), |r, i| r.exactly_once(&train, i));
        let any = slot_counts(&runs, train.slots.len(), |r, i| r.count(i) > 0);
        let mut accepted = i64::MAX;
        let mut seen = 0;
        for d in 0..DIAGONAL.len() {
            let range = d * steps.len()..(d + 1) * steps.len();
            let edge = all[range.clone()]
                .iter()
                .take_while(|&&n| n == runs.len())
                .count() as i64
                - 1;
            accepted = accepted.min(edge);
            for (&step, &n) in steps.iter().zip(&any[range]) {
                if n > 0 {
                    seen = seen.max(step);
                }
            }
        }
        let sign = if high_down { -1.0 } else { 1.0 };
        let (item, requirement) = if high_down {
            ("twist, high below low", "accept high −8 dB")
        } else {
            ("twist, low below high", "accept high +4 dB")
        };
        let measured = format!(
            "accepted to {:+.1} dB, any detection to {:+.1} dB",
            sign * accepted.max(0) as f32 / 10.0,
            sign * seen as f32 / 10.0
        );
        rows.push(Row::new(
            3,
            item,
            requirement,
            measured,
            accepted >= required,
        ));
    }
    rows
}

/// Test 4: digit 1 from +3 dBm0 down in 1 dB steps (both tones at the level), to −60 dBm0.
pub(crate) fn dynamic_range(rx: &mut dyn ReceiverUnderTest, options: &Options) -> Vec<Row> {
    let levels: Vec<i64> = (-60..=3).rev().collect();
    let mut t = TrainBuilder::new(8000);
    let (lead, on, len) = (t.samples(20.0), t.samples(50.0), t.samples(110.0) + 12);
    for &level in &levels {
        t.slot(len, lead, Some(Digit::D1), level, |b| {
            b.tone(Digit::D1, &ToneShape::at_level(level as f32), on);
        });
    }
    let train = t.build();
    let runs = sweep(rx, &train, options);
    let all = slot_counts(&runs, train.slots.len(), |r, i| r.exactly_once(&train, i));
    let any = slot_counts(&runs, train.slots.len(), |r, i| r.count(i) > 0);
    let ok: Vec<bool> = all.iter().map(|&n| n == runs.len()).collect();
    let top = ok.iter().position(|&b| b);
    let lowest_seen = levels
        .iter()
        .zip(&any)
        .filter(|&(_, &n)| n > 0)
        .map(|(&l, _)| l)
        .min();
    let (measured, pass) = match top {
        Some(first) => {
            let top = levels[first];
            let bottom = levels[first + ok[first..].iter().take_while(|&&b| b).count() - 1];
            let seen = lowest_seen.unwrap_or(bottom);
            (
                format!(
                    "{top:+} … {bottom} dBm0 ({} dB), nothing below {seen} dBm0",
                    top - bottom
                ),
                top >= 0 && bottom <= -25 && seen > -55,
            )
        }
        None => ("no level accepted at every alignment".into(), false),
    };
    vec![Row::new(
        4,
        "dynamic range, digit 1",
        "accept 0 … −25 dBm0, reject below −55",
        measured,
        pass,
    )]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contiguous_range_stops_at_the_first_gap_on_each_side() {
        let steps = [-3, -2, -1, 0, 1, 2, 3];
        let ok = [true, false, true, true, true, false, true];
        assert_eq!(contiguous(&steps, &ok), Some((-1, 1)));
        assert_eq!(contiguous(&steps, &[false; 7]), None);
    }
}
