//! Shared pieces of the built-in bot tests: prompts that are pure tones (so what a caller heard
//! can be read back from its recording as a sequence of prompts), recording what the other side
//! plays, and waiting longer than the call tests do.

#![allow(dead_code)]

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::calls_support::{Bot, Bots};
use crate::media_support::read_wav;
use crate::support::Webhook;
use crate::support::audio::{mean_power, power_at};

/// Writes `<dir>/<name>.wav`: a sine of `freq` Hz for `seconds`, 16 kHz mono 16-bit, half scale.
pub fn write_tone(dir: &Path, name: &str, freq: f64, seconds: f64) {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 16_000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut writer = hound::WavWriter::create(dir.join(format!("{name}.wav")), spec).unwrap();
    for sample in crate::support::audio::tone(freq, 16_000, seconds, 0.5) {
        writer.write_sample(sample).unwrap();
    }
    writer.finalize().unwrap();
}

/// Waits up to `timeout` for a notification matching `matches`.
pub async fn wait_long(
    hook: &Webhook,
    timeout: Duration,
    what: &str,
    matches: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(found) = hook.notifications().into_iter().find(|n| matches(n)) {
            return found;
        }
        assert!(
            Instant::now() < deadline,
            "no {what} within {timeout:?}; got {:#?}",
            hook.notifications()
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Starts a media operation of `bot` on `call`; returns its id.
pub async fn start_op(bots: &Bots, bot: &Bot, call: &str, action: &str, body: Value) -> String {
    let response = bots
        .post(bot, &format!("/communications/calls/{call}/{action}"), body)
        .await;
    let status = response.status();
    let op: Value = response.json().await.unwrap();
    assert_eq!(status, 200, "{action}: {op}");
    op["id"].as_str().unwrap().to_owned()
}

/// Waits for operation `op` of `call` to finish and returns it.
pub async fn finished(hook: &Webhook, call: &str, op: &str, timeout: Duration) -> Value {
    let url = format!("/communications/calls/{call}/operations/{op}");
    wait_long(hook, timeout, &format!("end of {url}"), |n| {
        n["resourceUrl"] == url && n["changeType"] == "deleted"
    })
    .await["resourceData"]
        .clone()
}

/// Starts a recording of what the other side plays; `silence` is the max-silence timeout. At
/// most 20 s, so it takes one of the media worker's many short clip buffers, not a long one.
pub async fn start_recording(
    bots: &Bots,
    bot: &Bot,
    call: &str,
    initial: u32,
    silence: u32,
) -> String {
    start_op(
        bots,
        bot,
        call,
        "recordResponse",
        json!({"maxRecordDurationInSeconds": 20, "initialSilenceTimeoutInSeconds": initial,
               "maxSilenceTimeoutInSeconds": silence, "playBeep": false}),
    )
    .await
}

/// Waits for recording `op` and downloads it: samples and rate (empty when nothing was heard).
pub async fn recorded(bots: &Bots, bot: &Bot, call: &str, op: &str) -> (Vec<i16>, u32) {
    let done = finished(&bot.hook, call, op, Duration::from_secs(60)).await;
    let (Some(location), Some(token)) = (
        done["recordingLocation"].as_str(),
        done["recordingAccessToken"].as_str(),
    ) else {
        return (Vec::new(), 16_000);
    };
    let bytes = bots
        .server
        .http
        .get(location)
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    read_wav(&bytes)
}

/// Records until `silence` seconds of quiet and returns the prompts heard, by name.
pub async fn hear(
    bots: &Bots,
    bot: &Bot,
    call: &str,
    initial: u32,
    silence: u32,
    prompts: &[(&str, f64)],
) -> Vec<String> {
    let op = start_recording(bots, bot, call, initial, silence).await;
    let (pcm, rate) = recorded(bots, bot, call, &op).await;
    heard(&pcm, rate, prompts)
}

/// The tone prompts in `pcm`, in order: 100 ms windows whose power is mostly at one prompt's
/// frequency, runs of at least 3 windows, repeats merged.
pub fn heard(pcm: &[i16], rate: u32, prompts: &[(&str, f64)]) -> Vec<String> {
    let window = (rate / 10) as usize;
    let mut labels: Vec<Option<&str>> = Vec::new();
    for chunk in pcm.chunks(window) {
        let total = mean_power(chunk);
        // Quieter than about -40 dBFS: silence.
        if chunk.len() < window || total < 1.0e5 {
            labels.push(None);
            continue;
        }
        let best = prompts
            .iter()
            .map(|(name, freq)| (*name, power_at(chunk, rate, *freq) / total))
            .fold(("", 0.0), |a, b| if b.1 > a.1 { b } else { a });
        labels.push((best.1 > 0.5).then_some(best.0));
    }
    let mut out: Vec<String> = Vec::new();
    let mut run: Option<(&str, usize)> = None;
    for label in labels.into_iter().chain([None]) {
        match (run, label) {
            (Some((name, n)), Some(l)) if name == l => run = Some((name, n + 1)),
            (current, next) => {
                if let Some((name, n)) = current
                    && n >= 3
                    && out.last().map(String::as_str) != Some(name)
                {
                    out.push(name.to_owned());
                }
                run = next.map(|l| (l, 1));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_prompt_reader_finds_tones_in_order_and_ignores_blips() {
        let rate = 16_000;
        let mut pcm = crate::support::audio::tone(400.0, rate, 0.8, 0.5);
        pcm.extend(vec![0i16; 8000]);
        pcm.extend(crate::support::audio::tone(2000.0, rate, 0.1, 0.5));
        pcm.extend(crate::support::audio::tone(550.0, rate, 0.8, 0.5));
        let prompts = [("welcome", 400.0), ("menu", 550.0), ("invalid", 2000.0)];
        assert_eq!(heard(&pcm, rate, &prompts), ["welcome", "menu"]);
    }
}
