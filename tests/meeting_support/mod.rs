//! Shared pieces of the group-call and meeting browser tests: a spectrum meter installed in a
//! softphone page (Web Audio analyser on the received stream), a bot's operations and
//! recordings measured by tone, and the bot's latest roster.

#![allow(dead_code)]

use serde_json::{Value, json};

use crate::calls_support::*;
use crate::softphone_support::Phones;
use crate::support::audio::{mean_power, power_at};
use crate::support::browser::Page;

/// A tone in bursts like speech, 16-bit PCM at 48 kHz: 700 ms on, 300 ms off, 10 ms ramps (no
/// clicks). A steady tone from a fake microphone was seen to fade out of a page's received audio
/// some 15 s into a call (Chromium's noise suppression takes it for background noise); bursts
/// stay foreground sound for tests that measure late in a call.
pub fn tone_bursts(freq: f64, seconds: f64, amplitude: f64) -> Vec<i16> {
    const RATE: f64 = 48_000.0;
    let ramp = 0.010 * RATE;
    let (on, period) = (0.7 * RATE, RATE);
    (0..(seconds * RATE) as usize)
        .map(|i| {
            let at = i as f64 % period;
            let envelope = if at >= on {
                0.0
            } else {
                (at / ramp).min((on - at) / ramp).min(1.0)
            };
            let v =
                amplitude * envelope * (2.0 * std::f64::consts::PI * freq * i as f64 / RATE).sin();
            (v * f64::from(i16::MAX)) as i16
        })
        .collect()
}

/// A tone heard holds at least this share of the received power (a few tones: 1/5 to 1/2 each).
pub const HEARD: f64 = 0.02;
/// A tone not heard holds less than this share (measured: below 0.0002).
pub const ABSENT: f64 = 0.001;

/// Installs `window.toneMeter` in a page: a Web Audio analyser on the received stream that
/// averages power spectra between `start()` and `read(freqs)`, which returns each frequency's
/// share of the total power (±3 bins of 5.9 Hz, the analyser window's main lobe).
const TONE_METER: &str = r#"
(async () => {
  const context = new AudioContext();
  await context.resume();
  const analyser = context.createAnalyser();
  analyser.fftSize = 8192;
  analyser.smoothingTimeConstant = 0;
  context.createMediaStreamSource(document.getElementById("remote-audio").srcObject)
    .connect(analyser);
  const bins = new Float32Array(analyser.frequencyBinCount);
  const sum = new Float64Array(analyser.frequencyBinCount);
  let frames = 0;
  let timer = null;
  window.toneMeter = {
    start() {
      sum.fill(0);
      frames = 0;
      clearInterval(timer);
      timer = setInterval(() => {
        analyser.getFloatFrequencyData(bins);
        for (let i = 0; i < bins.length; i++) sum[i] += Math.pow(10, bins[i] / 10);
        frames++;
      }, 100);
    },
    read(freqs) {
      clearInterval(timer);
      const hz = context.sampleRate / analyser.fftSize;
      let total = 0;
      for (let i = 2; i < sum.length; i++) total += sum[i];
      const shares = freqs.map((f) => {
        const centre = Math.round(f / hz);
        let power = 0;
        for (let i = centre - 3; i <= centre + 3; i++) power += sum[i];
        return total > 0 ? power / total : 0;
      });
      return { frames, shares };
    },
  };
  return context.state;
})()
"#;

/// Installs the tone meter once the page plays received audio.
pub fn install_tone_meter(phones: &mut Phones, page: &Page) {
    phones.wait_for_audio(page);
    phones.wait(page, "!!document.getElementById('remote-audio').srcObject");
    let state = phones.eval(page, TONE_METER);
    assert_eq!(state, "running", "the page's audio context");
}

/// Starts averaging the page's received spectrum.
pub fn start_tone_meter(phones: &mut Phones, page: &Page) {
    phones.eval(page, "toneMeter.start()");
}

/// The share of each of `freqs` in what the page received since [`start_tone_meter`].
pub fn read_tone_meter(phones: &mut Phones, page: &Page, freqs: &[f64]) -> Vec<f64> {
    let freqs_json = serde_json::to_string(freqs).unwrap();
    let read = phones.eval(page, &format!("toneMeter.read({freqs_json})"));
    assert!(read["frames"].as_u64().unwrap() >= 10, "{read}");
    read["shares"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_f64().unwrap())
        .collect()
}

/// `freqs` and their shares, for failure messages and the test log.
pub fn describe(freqs: &[f64], shares: &[f64]) -> String {
    freqs
        .iter()
        .zip(shares)
        .map(|(hz, s)| format!("{hz} Hz {s:.5}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `bot` starts an operation on `call` (`playPrompt`, `recordResponse`, …); returns its id.
pub async fn start_op(bots: &Bots, bot: &Bot, call: &str, action: &str, body: Value) -> String {
    let response = bots
        .post(bot, &format!("/communications/calls/{call}/{action}"), body)
        .await;
    let status = response.status();
    let op: Value = response.json().await.unwrap();
    assert_eq!(status, 200, "{action}: {op}");
    op["id"].as_str().unwrap().to_owned()
}

/// Waits for operation `op` of `call` to finish; returns its last state.
pub async fn finished(bot: &Bot, call: &str, op: &str) -> Value {
    wait_for(&bot.hook, |n| {
        n["resourceUrl"] == format!("/communications/calls/{call}/operations/{op}")
            && n["changeType"] == "deleted"
    })
    .await["resourceData"]
        .clone()
}

/// A playPrompt body for prompt `name` of the prompts folder.
pub fn play(name: &str) -> Value {
    json!({"prompts": [{"@odata.type": "#microsoft.graph.mediaPrompt",
                        "mediaInfo": {"resourceId": name}}]})
}

/// `bot` records `seconds` of `call`; returns the share of each of `freqs` in the recording's
/// last two thirds (16 kHz PCM; the first third covers the recording starting).
pub async fn bot_hears(
    bots: &Bots,
    bot: &Bot,
    call: &str,
    seconds: u32,
    freqs: &[f64],
) -> Vec<f64> {
    let body = json!({"maxRecordDurationInSeconds": seconds, "initialSilenceTimeoutInSeconds": 10,
                      "maxSilenceTimeoutInSeconds": 10, "playBeep": false});
    let op = start_op(bots, bot, call, "recordResponse", body).await;
    let recorded = finished(bot, call, &op).await;
    assert_eq!(recorded["status"], "completed", "{recorded}");
    let response = bots
        .server
        .http
        .get(recorded["recordingLocation"].as_str().unwrap())
        .bearer_auth(recorded["recordingAccessToken"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let bytes = response.bytes().await.unwrap();
    let reader = hound::WavReader::new(std::io::Cursor::new(bytes)).unwrap();
    assert_eq!(reader.spec().sample_rate, 16_000);
    let pcm: Vec<i16> = reader.into_samples().map(Result::unwrap).collect();
    let steady = &pcm[pcm.len() / 3..];
    let total = mean_power(steady);
    assert!(total > 0.0, "the bot's recording is digital silence");
    freqs
        .iter()
        .map(|&hz| power_at(steady, 16_000, hz) / total)
        .collect()
}

/// The latest roster `bot`'s webhook got for `call`.
pub fn roster(bot: &Bot, call: &str) -> Vec<Value> {
    bot.hook
        .notifications()
        .into_iter()
        .rev()
        .find(|n| n["resourceUrl"] == format!("/communications/calls/{call}/participants"))
        .and_then(|n| n["resourceData"].as_array().cloned())
        .unwrap_or_default()
}

/// The user id of a roster entry, if it is a person.
pub fn user_of(participant: &Value) -> Option<&str> {
    participant["info"]["identity"]["user"]["id"].as_str()
}

/// The participant id of `user` in `bot`'s latest roster of `call`.
pub fn participant_of(bot: &Bot, call: &str, user: &str) -> String {
    roster(bot, call)
        .iter()
        .find(|p| user_of(p) == Some(user))
        .and_then(|p| p["id"].as_str().map(str::to_owned))
        .unwrap_or_else(|| panic!("{user} is not in the roster"))
}
