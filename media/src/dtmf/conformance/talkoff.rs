//! Test 10: real speech and music must produce no digit.

use std::path::{Path, PathBuf};

use super::train::{Train, alignments, play};
use super::{Options, ReceiverUnderTest, Row};

/// The talk-off recordings committed under `fixtures/talkoff/` (see `fixtures/README.md`).
pub(crate) fn fixture_files() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/talkoff");
    ["speech-allison-8k.wav", "music-opsound-8k.wav"]
        .iter()
        .map(|f| dir.join(f))
        .collect()
}

/// Reads a mono 16-bit 8 kHz WAV file.
fn read_fixture(path: &Path) -> Result<Vec<i16>, String> {
    let reader =
        hound::WavReader::open(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let spec = reader.spec();
    if spec.channels != 1
        || spec.sample_rate != 8000
        || spec.bits_per_sample != 16
        || spec.sample_format != hound::SampleFormat::Int
    {
        return Err(format!(
            "{} is {} channel(s), {} Hz, {}-bit; talk-off files must be mono 8000 Hz 16-bit PCM",
            path.display(),
            spec.channels,
            spec.sample_rate,
            spec.bits_per_sample
        ));
    }
    reader
        .into_samples::<i16>()
        .collect::<Result<_, _>>()
        .map_err(|e| format!("cannot read {}: {e}", path.display()))
}

/// Test 10: each file at every alignment (at most 4 of them): 0 digits; near misses reported.
pub(crate) fn talk_off(rx: &mut dyn ReceiverUnderTest, options: &Options) -> Vec<Row> {
    let mut rows = Vec::new();
    for path in &options.talkoff_files {
        let name = path.file_name().map_or_else(
            || path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        let item = format!("talk-off, {name}");
        let pcm = match read_fixture(path) {
            Ok(pcm) => pcm,
            Err(e) => {
                rows.push(Row::new(10, item, "0 digits", e, false));
                continue;
            }
        };
        let minutes = pcm.len() as f64 / 8000.0 / 60.0;
        let train = Train {
            pcm,
            rate: 8000,
            slots: Vec::new(),
        };
        let offsets = alignments(
            rx,
            8000,
            &Options {
                max_alignments: 4,
                ..options.clone()
            },
        );
        let mut digits = 0;
        let mut near = Some(0u64);
        for &offset in &offsets {
            let run = play(rx, &train, offset);
            digits += run.stray;
            near = near.zip(rx.near_misses()).map(|(a, b)| a + b);
        }
        let near = near.map_or("not reported".into(), |n| n.to_string());
        let measured = format!(
            "{digits} digits in {minutes:.1} min × {} alignments; single-block hits {near}",
            offsets.len()
        );
        rows.push(Row::new(10, item, "0 digits", measured, digits == 0));
    }
    rows
}
