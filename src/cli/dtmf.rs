//! `switchboard dtmf …`: generate DTMF WAV files, detect digits in WAV files, run the conformance
//! procedure of the in-band receiver.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Subcommand};
use rubato::audioadapter_buffers::owned::InterleavedOwned;
use rubato::{Fft, FixedSync, Resampler};
use serde::Serialize;
use switchboard_media::dtmf::conformance::{Options, OurReceiver, run_all};
use switchboard_media::dtmf::generator::{ToneShape, digit_sequence};
use switchboard_media::dtmf::{DetectorConfig, Digit, ToneDetector, ToneEdge};

/// The `dtmf` subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum DtmfCommand {
    /// Write DIGITS as DTMF tones to a mono 16-bit WAV file.
    Generate(GenerateArgs),
    /// Detect DTMF digits in WAV files; prints one JSON object per digit and line.
    Detect(DetectArgs),
    /// Run the DTMF conformance procedure (tests 1–11) on the in-band receiver.
    Conformance,
}

/// Arguments of `dtmf generate`.
#[derive(Debug, Args)]
pub(crate) struct GenerateArgs {
    /// Keys to send: 0-9, *, #, A-D (spaces and commas are ignored).
    digits: String,
    /// Output WAV file.
    #[arg(short = 'o', long = "output", value_name = "OUT.wav")]
    output: PathBuf,
    /// Sample rate in Hz (8000, 16000 and 48000 are the usual ones).
    #[arg(long, default_value_t = 8000)]
    rate: u32,
    /// Tone duration per key, in ms.
    #[arg(long, default_value_t = 50.0)]
    on_ms: f32,
    /// Pause after each key, in ms.
    #[arg(long, default_value_t = 50.0)]
    off_ms: f32,
    /// Level of the low-group tone in dBm0 (0 dBm0 is 3.14 dB below a full-scale sine).
    #[arg(long, default_value_t = -10.0, allow_negative_numbers = true)]
    level_dbm0: f32,
    /// Twist: level of the high-group tone minus the low-group tone, in dB.
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    twist_db: f32,
}

/// Arguments of `dtmf detect`.
#[derive(Debug, Args)]
pub(crate) struct DetectArgs {
    /// WAV files: mono or stereo (channels are mixed), 8/16/24/32-bit integer or 32-bit float
    /// PCM, any common rate (resampled to 8 or 16 kHz when needed).
    #[arg(required = true, value_name = "FILE.wav")]
    files: Vec<PathBuf>,
}

impl DtmfCommand {
    /// Runs the subcommand; the exit code is non-zero when anything failed.
    pub(crate) fn run(self) -> ExitCode {
        match self {
            DtmfCommand::Generate(args) => generate(&args),
            DtmfCommand::Detect(args) => detect(&args),
            DtmfCommand::Conformance => conformance(),
        }
    }
}

fn generate(args: &GenerateArgs) -> ExitCode {
    let fail = |reason: String| {
        eprintln!("switchboard dtmf generate: {reason}");
        ExitCode::FAILURE
    };
    let digits = match Digit::parse_sequence(&args.digits) {
        Ok(d) => d,
        Err(e) => return fail(e.to_string()),
    };
    for (name, value) in [("--on-ms", args.on_ms), ("--off-ms", args.off_ms)] {
        if !(value.is_finite() && (0.0..=60_000.0).contains(&value)) {
            return fail(format!(
                "{name} {value} is out of range; allowed is 0 to 60000"
            ));
        }
    }
    let limits = [
        ("--level-dbm0", args.level_dbm0, -100.0, 10.0),
        ("--twist-db", args.twist_db, -40.0, 40.0),
    ];
    for (name, value, min, max) in limits {
        if !(value.is_finite() && (min..=max).contains(&value)) {
            return fail(format!(
                "{name} {value} is out of range; allowed is {min} to {max}"
            ));
        }
    }
    let shape = ToneShape {
        level_dbm0: args.level_dbm0,
        twist_db: args.twist_db,
        ..ToneShape::default()
    };
    let pcm = match digit_sequence(args.rate, &digits, &shape, args.on_ms, args.off_ms) {
        Ok(pcm) => pcm,
        Err(e) => return fail(format!("--rate: {e}")),
    };
    match write_wav(&args.output, args.rate, &pcm) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(format!("cannot write {}: {e}", args.output.display())),
    }
}

fn write_wav(path: &Path, rate: u32, pcm: &[i16]) -> Result<(), hound::Error> {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut writer = hound::WavWriter::create(path, spec)?;
    for &s in pcm {
        writer.write_sample(s)?;
    }
    writer.finalize()
}

/// One detected digit, as `dtmf detect` prints it.
#[derive(Debug, Serialize)]
struct DetectedDigit<'a> {
    file: &'a str,
    digit: String,
    start_ms: f64,
    end_ms: f64,
    level_dbm0: f64,
}

/// Rounds to one decimal, as printed.
fn tenth(value: f64) -> f64 {
    (value * 10.0).round() / 10.0
}

fn detect(args: &DetectArgs) -> ExitCode {
    let mut failed = false;
    for path in &args.files {
        let name = path.display().to_string();
        match detect_file(path) {
            Ok(digits) => {
                for (digit, start_ms, end_ms, level) in digits {
                    let line = DetectedDigit {
                        file: &name,
                        digit: digit.to_string(),
                        start_ms: tenth(start_ms),
                        end_ms: tenth(end_ms),
                        level_dbm0: tenth(f64::from(level)),
                    };
                    match serde_json::to_string(&line) {
                        Ok(json) => println!("{json}"),
                        Err(e) => {
                            eprintln!("switchboard dtmf detect: {name}: cannot format result: {e}");
                            failed = true;
                        }
                    }
                }
            }
            Err(reason) => {
                eprintln!("switchboard dtmf detect: {name}: {reason}");
                failed = true;
            }
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// The digits in one file as `(digit, start ms, end ms, level dBm0)`.
fn detect_file(path: &Path) -> Result<Vec<(Digit, f64, f64, f32)>, String> {
    let (samples, rate) = read_mono(path)?;
    let (pcm, rate) = to_detector_rate(samples, rate)?;
    let mut detector =
        ToneDetector::new(DetectorConfig::at_rate(rate)).map_err(|e| e.to_string())?;
    let mut digits = Vec::new();
    let mut open: Option<(Digit, u64, f32)> = None;
    let to_ms = |samples: u64| samples as f64 * 1000.0 / f64::from(rate);
    let mut on_event = |e: switchboard_media::dtmf::ToneEvent| match e.edge {
        ToneEdge::Start => open = Some((e.digit, e.at, e.level_dbm0)),
        ToneEdge::End => {
            if let Some((digit, start, _)) = open.take() {
                digits.push((digit, to_ms(start), to_ms(e.at), e.level_dbm0));
            }
        }
    };
    detector.push(&pcm, &mut on_event);
    detector.finish(&mut on_event);
    Ok(digits)
}

/// Reads a mono or stereo WAV file as mono samples on the 16-bit scale, and its rate.
fn read_mono(path: &Path) -> Result<(Vec<f32>, u32), String> {
    // Tell a file that cannot be opened from one whose contents are not a WAV file.
    std::fs::File::open(path).map_err(|e| format!("cannot read the file: {e}"))?;
    let reader =
        hound::WavReader::open(path).map_err(|e| format!("not a readable WAV file: {e}"))?;
    let spec = reader.spec();
    let channels = usize::from(spec.channels);
    if !(1..=2).contains(&channels) {
        return Err(format!(
            "{channels} channels; only mono and stereo are supported"
        ));
    }
    let samples: Vec<f32> = match (spec.sample_format, spec.bits_per_sample) {
        (hound::SampleFormat::Int, bits @ 1..=32) => {
            let scale = 2f32.powi(16 - i32::from(bits));
            reader
                .into_samples::<i32>()
                .map(|s| s.map(|v| v as f32 * scale))
                .collect::<Result<_, _>>()
        }
        (hound::SampleFormat::Float, 32) => reader
            .into_samples::<f32>()
            .map(|s| s.map(|v| v * 32_768.0))
            .collect::<Result<_, _>>(),
        (format, bits) => return Err(format!("{bits}-bit {format:?} samples are not supported")),
    }
    .map_err(|e| format!("corrupt audio data: {e}"))?;
    let mono = if channels == 2 {
        samples
            .chunks_exact(2)
            .map(|p| (p[0] + p[1]) * 0.5)
            .collect()
    } else {
        samples
    };
    Ok((mono, spec.sample_rate))
}

/// Resamples to 8 kHz (rates below 16 kHz) or 16 kHz (others) when the file is at neither, and
/// converts to 16-bit PCM.
fn to_detector_rate(samples: Vec<f32>, rate: u32) -> Result<(Vec<i16>, u32), String> {
    if rate == 0 {
        return Err("sample rate 0 Hz".into());
    }
    let target = if rate == 8000 || rate == 16000 {
        rate
    } else if rate < 16000 {
        8000
    } else {
        16000
    };
    let resampled = if target == rate || samples.is_empty() {
        samples
    } else {
        let len = samples.len();
        let input =
            InterleavedOwned::new_from(samples, 1, len).map_err(|e| format!("resampling: {e}"))?;
        let mut resampler =
            Fft::<f32>::new(rate as usize, target as usize, 1024, 1, FixedSync::Input)
                .map_err(|e| format!("cannot resample {rate} Hz to {target} Hz: {e}"))?;
        let output = resampler
            .process_all(&input, len, None)
            .map_err(|e| format!("cannot resample {rate} Hz to {target} Hz: {e}"))?;
        let mut out = output.take_data();
        out.truncate((len as u64 * u64::from(target) / u64::from(rate)) as usize);
        out
    };
    let pcm = resampled
        .iter()
        .map(|&s| s.round().clamp(-32_768.0, 32_767.0) as i16)
        .collect();
    Ok((pcm, target))
}

fn conformance() -> ExitCode {
    let mut receiver = match OurReceiver::new(DetectorConfig::default()) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("switchboard dtmf conformance: {e}");
            return ExitCode::FAILURE;
        }
    };
    let report = run_all(&mut receiver, &Options::default());
    println!("{report}");
    if report.failed() == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
