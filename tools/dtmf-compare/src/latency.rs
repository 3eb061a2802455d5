//! Onset-to-report latency over every block alignment of a receiver: sample arithmetic, not time.

use switchboard_media::dtmf::ALL_DIGITS;
use switchboard_media::dtmf::conformance::{Detection, ReceiverUnderTest};
use switchboard_media::dtmf::generator::{SignalBuilder, ToneShape};

/// The latency distribution of one receiver at one rate.
#[derive(Debug, Clone, PartialEq)]
pub struct LatencyStats {
    /// Alignments tried (every sample offset within the receiver's block period).
    pub alignments: usize,
    /// Bursts reported exactly once, over all alignments.
    pub detected: usize,
    /// Bursts played, over all alignments.
    pub bursts: usize,
    /// Median latency in ms.
    pub median_ms: f64,
    /// 90th percentile (nearest rank) in ms.
    pub p90_ms: f64,
    /// Largest latency in ms.
    pub max_ms: f64,
}

/// Plays test 1's signal (all 16 keys × 10, 50 ms on, 50 ms off, −4 dBm0 per tone) after every
/// offset from 0 to the receiver's block period, and measures report time minus tone onset.
pub fn latency_sweep(rx: &mut dyn ReceiverUnderTest, rate: u32) -> Option<LatencyStats> {
    let mut signal = SignalBuilder::new(rate).ok()?;
    let lead = signal.ms_to_samples(20.0);
    let on = signal.ms_to_samples(50.0);
    signal.silence(lead);
    let mut onsets = Vec::new();
    for i in 0..160 {
        onsets.push(signal.len() as u64);
        signal
            .tone(ALL_DIGITS[i % 16], &ToneShape::at_level(-4.0), on)
            .silence(on);
    }
    signal.silence_ms(200.0);
    let pcm = signal.to_pcm();
    let period = rx.alignment_period(rate).max(1);
    let frame = rate as usize / 50;
    let per_ms = f64::from(rate) / 1000.0;
    let mut latencies = Vec::new();
    let mut found: Vec<Detection> = Vec::new();
    for offset in 0..period {
        rx.reset(rate);
        found.clear();
        rx.feed(&vec![0; offset], &mut found);
        for chunk in pcm.chunks(frame) {
            rx.feed(chunk, &mut found);
        }
        rx.finish(&mut found);
        let mut per_burst = vec![Vec::new(); onsets.len()];
        for d in &found {
            let Some(at) = d.reported_at.checked_sub(offset as u64) else {
                continue;
            };
            let burst = onsets.partition_point(|&o| o <= at);
            if let Some(i) = burst.checked_sub(1) {
                per_burst[i].push((d.digit, at));
            }
        }
        for (i, reports) in per_burst.iter().enumerate() {
            if let [(digit, at)] = reports[..]
                && digit == ALL_DIGITS[i % 16]
            {
                latencies.push((at - onsets[i]) as f64 / per_ms);
            }
        }
    }
    if latencies.is_empty() {
        return None;
    }
    latencies.sort_by(f64::total_cmp);
    let rank = |p: f64| {
        latencies[((p * latencies.len() as f64).ceil() as usize).clamp(1, latencies.len()) - 1]
    };
    Some(LatencyStats {
        alignments: period,
        detected: latencies.len(),
        bursts: period * onsets.len(),
        median_ms: rank(0.5),
        p90_ms: rank(0.9),
        max_ms: *latencies.last().expect("not empty"),
    })
}
