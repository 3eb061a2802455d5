//! `dtmf-compare`: the same conformance procedure, the same latency sweep and the same real
//! recordings through Switchboard's DTMF receiver and spandsp's, printed side by side.
//!
//! `cargo run --release -p dtmf-compare` (add `--quick` for fewer alignments and noise bursts).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use dtmf_compare::files::{read_rtp_capture, read_wav_8k};
use dtmf_compare::latency::latency_sweep;
use dtmf_compare::receiver::SpandspReceiver;
use switchboard_media::codec::g711::alaw_to_linear;
use switchboard_media::dtmf::conformance::{
    Detection, Options, OurReceiver, ReceiverUnderTest, Report, Row, Verdict, run_all,
};
use switchboard_media::dtmf::telephone_event::{
    EventPacket, KeyPressEvent, TelephoneEventReceiver,
};
use switchboard_media::dtmf::{DetectorConfig, Digit};

fn main() -> ExitCode {
    let quick = std::env::args().any(|a| a == "--quick");
    let mut theirs = match SpandspReceiver::new() {
        Ok(rx) => rx,
        Err(e) => {
            eprintln!("dtmf-compare: {e}");
            return ExitCode::from(2);
        }
    };
    let mut ours = OurReceiver::new(DetectorConfig::default())
        .expect("the default detector configuration is valid");
    let receivers: [&mut dyn ReceiverUnderTest; 2] = [&mut ours, &mut theirs];
    let [ours, theirs] = receivers;

    println!("### Conformance, side by side\n");
    let options = Options {
        // Every alignment of both: our 4 ms hop (32 or 64 samples) and spandsp's 102-sample
        // block (204 samples at 16 kHz); each receiver is swept over its own period.
        max_alignments: if quick { 8 } else { 204 },
        snr_bursts: if quick { 100 } else { 1000 },
        ..Options::default()
    };
    println!(
        "Conformance procedure of dtmf-requirements.md, up to {} alignments per row, {} bursts per S/N level.\n",
        options.max_alignments, options.snr_bursts
    );
    let ours_report = run_all(ours, &options);
    let theirs_report = run_all(theirs, &options);
    print_side_by_side(&ours_report, &theirs_report);

    println!("\n### Latency, tone onset to digit report, over every alignment\n");
    println!(
        "Test 1's signal (16 keys × 10, 50/50 ms, −4 dBm0) after every offset within each receiver's block period. \
         spandsp at 16 kHz is fed through a rubato decimator whose own {:.1} ms delay is not counted.\n",
        SpandspReceiver::decimator_delay_ms()
    );
    println!("| rate | receiver | alignments | detected | median | p90 | max |");
    println!("|---|---|---|---|---|---|---|");
    for rate in [8000, 16_000] {
        for rx in [&mut *ours, &mut *theirs] {
            match latency_sweep(rx, rate) {
                Some(s) => println!(
                    "| {} kHz | {} | {} | {}/{} | {:.1} ms | {:.1} ms | {:.1} ms |",
                    rate / 1000,
                    rx.name(),
                    s.alignments,
                    s.detected,
                    s.bursts,
                    s.median_ms,
                    s.p90_ms,
                    s.max_ms
                ),
                None => println!(
                    "| {} kHz | {} | – | nothing detected | | | |",
                    rate / 1000,
                    rx.name()
                ),
            }
        }
    }

    println!("\n### Real recordings\n");
    key_tone_files(ours, theirs);
    speech_capture(ours, theirs);
    telephone_event_captures();

    let failed = ours_report.failed();
    println!(
        "\nswitchboard: {} passed, {} failed; spandsp: {} passed, {} failed",
        ours_report.passed(),
        failed,
        theirs_report.passed(),
        theirs_report.failed()
    );
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn verdict(row: &Row) -> &'static str {
    match row.verdict {
        Verdict::Pass => "pass",
        Verdict::Fail => "FAIL",
        Verdict::Info => "info",
    }
}

fn print_side_by_side(ours: &Report, theirs: &Report) {
    println!("| # | item | requirement | switchboard | spandsp 0.0.6 |");
    println!("|---|---|---|---|---|");
    for row in &ours.rows {
        let other = theirs
            .rows
            .iter()
            .find(|r| r.test == row.test && r.item == row.item);
        let other = other.map_or("(no row)".to_string(), |r| {
            format!("{} — {}", r.measured, verdict(r))
        });
        println!(
            "| {} | {} | {} | {} — {} | {} |",
            row.test,
            row.item,
            row.requirement,
            row.measured,
            verdict(row),
            other
        );
    }
}

/// Plays 8 kHz PCM (with 100 ms of silence after it) and returns what was reported.
fn detect(rx: &mut dyn ReceiverUnderTest, pcm: &[i16]) -> Vec<Detection> {
    let mut found = Vec::new();
    rx.reset(8000);
    for chunk in pcm.chunks(160) {
        rx.feed(chunk, &mut found);
    }
    rx.feed(&[0; 800], &mut found);
    rx.finish(&mut found);
    found
}

fn keys(found: &[Detection]) -> String {
    if found.is_empty() {
        return "none".into();
    }
    found.iter().map(|d| d.digit.as_char()).collect()
}

/// Debian baresip-core's key tones (44.1 kHz), resampled to 8 kHz: each must give its key once.
fn key_tone_files(ours: &mut dyn ReceiverUnderTest, theirs: &mut dyn ReceiverUnderTest) {
    let dir = Path::new("/usr/share/baresip");
    println!(
        "#### Key tones of baresip-core (`{}/sound*.wav`, 44.1 kHz → 8 kHz)\n",
        dir.display()
    );
    if !dir.join("sound1.wav").exists() {
        println!("not installed: `apt-get install baresip-core` to include them\n");
        return;
    }
    let files: Vec<(String, char)> = (0..10)
        .map(|d| (format!("sound{d}.wav"), char::from(b'0' + d)))
        .chain([
            ("soundstar.wav".into(), '*'),
            ("soundroute.wav".into(), '#'),
        ])
        .collect();
    println!("| file | key | switchboard | spandsp |");
    println!("|---|---|---|---|");
    let (mut ok_ours, mut ok_theirs) = (0, 0);
    for (name, key) in &files {
        match read_wav_8k(&dir.join(name)) {
            Ok(pcm) => {
                let a = keys(&detect(ours, &pcm));
                let b = keys(&detect(theirs, &pcm));
                ok_ours += usize::from(a == key.to_string());
                ok_theirs += usize::from(b == key.to_string());
                println!("| {name} | {key} | {a} | {b} |");
            }
            Err(e) => println!("| {name} | {key} | {e} | |"),
        }
    }
    println!(
        "\nexactly the right key once: switchboard {ok_ours}/{n}, spandsp {ok_theirs}/{n}\n",
        n = files.len()
    );
}

/// The 7 s of A-law speech in sip-tester's `g711a.pcap`: no digit may be found.
fn speech_capture(ours: &mut dyn ReceiverUnderTest, theirs: &mut dyn ReceiverUnderTest) {
    let path = PathBuf::from("/usr/share/sip-tester/g711a.pcap");
    println!(
        "#### Speech in sip-tester's `{}` (G.711 A-law)\n",
        path.display()
    );
    if !path.exists() {
        println!("not installed: `apt-get install sip-tester` to include it\n");
        return;
    }
    match read_rtp_capture(&path) {
        Ok(packets) => {
            let pcm: Vec<i16> = packets
                .iter()
                .filter(|p| p.payload_type == 8)
                .flat_map(|p| p.payload.iter().map(|&b| alaw_to_linear(b)))
                .collect();
            println!(
                "{:.1} s of speech: switchboard found {}, spandsp found {} (0 is right)\n",
                pcm.len() as f64 / 8000.0,
                keys(&detect(ours, &pcm)),
                keys(&detect(theirs, &pcm))
            );
        }
        Err(e) => println!("{e}\n"),
    }
}

/// sip-tester's RFC 2833 captures through our telephone-event receiver (spandsp has none here).
fn telephone_event_captures() {
    let dir = Path::new("/usr/share/sip-tester");
    println!(
        "#### RFC 4733 captures of sip-tester (`{}/dtmf_2833_*.pcap`), our telephone-event receiver\n",
        dir.display()
    );
    if !dir.join("dtmf_2833_1.pcap").exists() {
        println!("not installed: `apt-get install sip-tester` to include them\n");
        return;
    }
    let names: Vec<String> = (0..10)
        .map(|d| d.to_string())
        .chain(["star".into(), "pound".into()])
        .collect();
    let mut right = 0;
    let mut lines = Vec::new();
    for name in &names {
        let expected = match name.as_str() {
            "star" => Digit::Star,
            "pound" => Digit::Pound,
            d => Digit::from_char(d.chars().next().unwrap_or('x')).unwrap_or(Digit::D0),
        };
        let path = dir.join(format!("dtmf_2833_{name}.pcap"));
        let line = match read_rtp_capture(&path) {
            Ok(packets) => {
                let mut rx = TelephoneEventReceiver::new(8000).expect("8000 Hz is supported");
                let mut events = Vec::new();
                let mut errors = 0;
                for p in packets.iter().filter(|p| p.payload_type >= 96) {
                    let packet = EventPacket {
                        timestamp: p.timestamp,
                        sequence: p.sequence,
                        marker: p.marker,
                        payload: &p.payload,
                    };
                    errors += usize::from(rx.receive(&packet, &mut events).is_err());
                }
                rx.finish(&mut events);
                let presses: Vec<String> = events
                    .iter()
                    .filter_map(|e| match e {
                        KeyPressEvent::Released {
                            digit, duration, ..
                        } => Some(format!("{digit} ({} ms)", duration / 8)),
                        KeyPressEvent::Pressed { .. } => None,
                    })
                    .collect();
                let pressed: Vec<Digit> = events
                    .iter()
                    .filter_map(|e| match e {
                        KeyPressEvent::Pressed { digit, .. } => Some(*digit),
                        KeyPressEvent::Released { .. } => None,
                    })
                    .collect();
                right += usize::from(pressed == [expected]);
                format!(
                    "{} packets → {}{}",
                    packets.len(),
                    presses.join(", "),
                    if errors > 0 {
                        format!(", {errors} bad payloads")
                    } else {
                        String::new()
                    }
                )
            }
            Err(e) => e.to_string(),
        };
        lines.push(format!("{name}: {line}"));
    }
    println!("{}", lines.join("; "));
    println!("\nexactly the right key once: {right}/{}", names.len());
}
