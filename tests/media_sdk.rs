//! The two-bot scenario driven by the official Python `msgraph-sdk` (pinned in
//! tests/sdk/requirements.txt, installed from PyPI into .venv/msgraph-sdk by scripts/sdk-venv):
//! A calls B, B answers, subscribes to tones and records, A plays a prompt and sends 1 2 3 #, B
//! hears exactly those keys from A's participant, B's recording is A's prompt, A hangs up. The
//! script (tests/sdk/two_bots.py) asserts every step; this test starts the server, hands the
//! script its address, and checks the script's result.
//!
//! Skipped (with the reason printed) only when Python 3 is not installed, and never in CI.

mod support;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::*;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// The venv's python, created on first use; `None` (skip) only when Python itself is missing.
fn sdk_python() -> Option<String> {
    let output = Command::new(format!("{ROOT}/scripts/sdk-venv"))
        .output()
        .expect("run scripts/sdk-venv");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    if output.status.code() == Some(3) {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must run the SDK test, but Python is missing: {stderr}"
        );
        eprintln!("SKIPPED: the msgraph-sdk test needs Python 3 with venv: {stderr}");
        return None;
    }
    assert!(output.status.success(), "scripts/sdk-venv failed: {stderr}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    Some(
        stdout
            .lines()
            .last()
            .expect("the venv's python path")
            .trim()
            .to_owned(),
    )
}

#[test]
fn two_bots_driven_by_the_official_python_sdk() {
    let Some(python) = sdk_python() else { return };
    let mut script = Command::new(python)
        .arg(format!("{ROOT}/tests/sdk/two_bots.py"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the SDK script");
    let (lines_tx, lines) = mpsc::channel::<String>();
    let stdout = script.stdout.take().unwrap();
    let stderr = script.stderr.take().unwrap();
    let out_tx = lines_tx.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = out_tx.send(line);
        }
    });
    let errors = std::thread::spawn(move || {
        let mut text = String::new();
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            text.push_str(&line);
            text.push('\n');
        }
        text
    });

    let ready = lines
        .recv_timeout(Duration::from_secs(60))
        .expect("the script prints READY");
    let hooks: Value = serde_json::from_str(ready.strip_prefix("READY ").expect("READY line"))
        .expect("READY JSON");
    let b_hook = hooks["b_hook"].as_str().unwrap();
    let marker = format!("id = \"{APP_A2}\"\n");
    let config = STANDARD_CONFIG.replacen(
        &marker,
        &format!("{marker}calling_webhook = \"{b_hook}\"\n"),
        1,
    ) + "\n[media]\nworkers = 2\n\n[media.prompts]\nallow_private_addresses = true\n";
    let server = Server::start_with_config(&config);
    let setup = json!({"base": server.base_url, "tenant": TENANT_A, "a_id": APP_A1, "b_id": APP_A2,
                       "secret": SECRET});
    let mut stdin = script.stdin.take().unwrap();
    writeln!(stdin, "{setup}").unwrap();
    drop(stdin);

    let deadline = Instant::now() + Duration::from_secs(120);
    let status = loop {
        if let Some(status) = script.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = script.kill();
            panic!(
                "the SDK script did not finish in 120 s; server output:\n{}",
                server.output()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let stderr = errors.join().unwrap();
    drop(lines_tx);
    let printed: Vec<String> = lines.try_iter().collect();
    assert!(
        status.success(),
        "the SDK script failed ({status}):\n{stderr}\nstdout:\n{}\nserver output:\n{}",
        printed.join("\n"),
        server.output()
    );
    let result: Value = printed
        .iter()
        .find_map(|l| l.strip_prefix("SDK-RESULT "))
        .map(|json| serde_json::from_str(json).unwrap())
        .unwrap_or_else(|| panic!("no SDK-RESULT line in {printed:?}"));
    eprintln!("SDK scenario: {result}");
    let a = result["a_participant"].as_str().unwrap();
    assert_eq!(
        result["tones"],
        json!([["tone1", a], ["tone2", a], ["tone3", a], ["pound", a]])
    );
    assert!(result["correlation"].as_f64().unwrap() > 0.8, "{result}");
    assert_eq!(result["a_final"], json!([200, 5001]));
    assert_eq!(result["b_final"], json!([200, 4521]));
}
