//! `switchboard dtmf generate | detect | conformance`, run as the built binary.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use switchboard_media::dtmf::Digit;
use switchboard_media::dtmf::generator::{SignalBuilder, ToneShape};

fn switchboard(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(args)
        .output()
        .expect("the switchboard binary runs")
}

fn scratch(name: &str) -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("cli_dtmf-{name}"))
}

/// The JSON lines `dtmf detect` printed, parsed.
fn detections(output: &Output) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l}: {e}")))
        .collect()
}

fn digits(lines: &[serde_json::Value]) -> String {
    lines
        .iter()
        .map(|l| l["digit"].as_str().expect("digit is a string"))
        .collect()
}

#[test]
fn generate_then_detect_round_trips_at_every_rate() {
    for rate in ["8000", "16000", "48000"] {
        let wav = scratch(&format!("round-trip-{rate}.wav"));
        let wav_str = wav.to_str().unwrap();
        let out = switchboard(&[
            "dtmf",
            "generate",
            "159#*0D",
            "-o",
            wav_str,
            "--rate",
            rate,
            "--on-ms",
            "60",
            "--off-ms",
            "70",
            "--level-dbm0",
            "-12",
            "--twist-db",
            "2",
        ]);
        assert!(
            out.status.success(),
            "generate at {rate}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let spec = hound::WavReader::open(&wav).unwrap().spec();
        assert_eq!(
            (spec.channels, spec.sample_rate, spec.bits_per_sample),
            (1, rate.parse().unwrap(), 16)
        );

        let out = switchboard(&["dtmf", "detect", wav_str]);
        assert!(
            out.status.success(),
            "detect at {rate}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let lines = detections(&out);
        assert_eq!(digits(&lines), "159#*0D", "rate {rate}");
        for (i, line) in lines.iter().enumerate() {
            assert_eq!(line["file"], wav_str);
            let start = line["start_ms"].as_f64().unwrap();
            let end = line["end_ms"].as_f64().unwrap();
            let expected = 130.0 * i as f64;
            assert!(
                (start - expected).abs() < 2.5,
                "rate {rate}: start {start} vs {expected}"
            );
            assert!(
                (end - (expected + 60.0)).abs() < 2.5,
                "rate {rate}: end {end}"
            );
            // Low tone −12 dBm0, high tone −10 dBm0: mean power per tone −10.9 dBm0.
            let level = line["level_dbm0"].as_f64().unwrap();
            assert!((level + 10.9).abs() < 0.6, "rate {rate}: level {level}");
        }
    }
}

fn write_wav<S: hound::Sample + Copy>(path: &Path, spec: hound::WavSpec, samples: &[S]) {
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    for &s in samples {
        w.write_sample(s).unwrap();
    }
    w.finalize().unwrap();
}

fn tones(rate: u32) -> Vec<f32> {
    let mut b = SignalBuilder::new(rate).unwrap();
    b.silence_ms(30.0);
    let on = b.ms_to_samples(50.0);
    b.digits(
        &Digit::parse_sequence("42A").unwrap(),
        &ToneShape::at_level(-15.0),
        on,
        on,
    );
    b.as_f32().to_vec()
}

#[test]
fn stereo_24_bit_and_float_files_at_other_rates_are_read() {
    // Stereo 16-bit at 44.1 kHz: the tones on the left channel only, the right one silent.
    let path = scratch("stereo-44k1.wav");
    let spec = hound::WavSpec {
        channels: 2,
        sample_rate: 44_100,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let stereo: Vec<i16> = tones(44_100)
        .iter()
        .flat_map(|&s| [s.round() as i16, 0])
        .collect();
    write_wav(&path, spec, &stereo);

    // 24-bit mono at 8 kHz.
    let path24 = scratch("mono-24bit.wav");
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 8000,
        bits_per_sample: 24,
        sample_format: hound::SampleFormat::Int,
    };
    let pcm24: Vec<i32> = tones(8000)
        .iter()
        .map(|&s| (s * 256.0).round() as i32)
        .collect();
    write_wav(&path24, spec, &pcm24);

    // 32-bit float mono at 22.05 kHz.
    let path_f = scratch("mono-float-22k05.wav");
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 22_050,
        bits_per_sample: 32,
        sample_format: hound::SampleFormat::Float,
    };
    let pcm_f: Vec<f32> = tones(22_050).iter().map(|&s| s / 32_768.0).collect();
    write_wav(&path_f, spec, &pcm_f);

    let files = [&path, &path24, &path_f].map(|p| p.to_str().unwrap().to_string());
    let out = switchboard(&["dtmf", "detect", &files[0], &files[1], &files[2]]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines = detections(&out);
    for file in &files {
        let of_file: Vec<_> = lines
            .iter()
            .filter(|l| l["file"] == file.as_str())
            .cloned()
            .collect();
        assert_eq!(digits(&of_file), "42A", "{file}");
        let first = of_file[0]["start_ms"].as_f64().unwrap();
        assert!((first - 30.0).abs() < 2.5, "{file}: first onset {first}");
        let level = of_file[0]["level_dbm0"].as_f64().unwrap();
        // The stereo file's tones are on one channel: mixing halves them (−6 dB).
        let expected = if file.contains("stereo") {
            -21.0
        } else {
            -15.0
        };
        assert!((level - expected).abs() < 0.7, "{file}: level {level}");
    }
}

#[test]
fn an_unreadable_file_is_named_with_its_reason_and_fails_the_run() {
    let good = scratch("good.wav");
    let out = switchboard(&["dtmf", "generate", "7", "-o", good.to_str().unwrap()]);
    assert!(out.status.success());
    let corrupt = scratch("corrupt.wav");
    std::fs::write(&corrupt, b"RIFF\x10\x00\x00\x00WAVEjunk").unwrap();
    let missing = scratch("missing.wav");

    let args = [
        "dtmf",
        "detect",
        good.to_str().unwrap(),
        corrupt.to_str().unwrap(),
        missing.to_str().unwrap(),
    ];
    let out = switchboard(&args);
    assert!(!out.status.success());
    assert_eq!(
        digits(&detections(&out)),
        "7",
        "the good file is still processed"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    let errors: Vec<&str> = stderr.lines().collect();
    assert_eq!(errors.len(), 2, "one line per bad file: {stderr}");
    assert!(
        errors[0].contains(corrupt.to_str().unwrap())
            && errors[0].contains("not a readable WAV file"),
        "{}",
        errors[0]
    );
    assert!(
        errors[1].contains(missing.to_str().unwrap()) && errors[1].contains("cannot read the file"),
        "{}",
        errors[1]
    );
}

#[test]
fn bad_generate_arguments_are_refused_with_the_reason() {
    let out = switchboard(&[
        "dtmf",
        "generate",
        "12x",
        "-o",
        scratch("bad.wav").to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("'x' is not a DTMF key"));
    let out = switchboard(&[
        "dtmf",
        "generate",
        "1",
        "-o",
        scratch("bad.wav").to_str().unwrap(),
        "--rate",
        "100",
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("sample rate 100 Hz"));
}

#[test]
fn help_lists_every_dtmf_subcommand() {
    let out = switchboard(&["dtmf", "--help"]);
    let help = String::from_utf8_lossy(&out.stdout);
    for sub in ["generate", "detect", "conformance"] {
        assert!(help.contains(sub), "{help}");
    }
}
