//! Shared pieces of the media-plane tests: a loopback server for prompt files (good, too big,
//! too slow, not a WAV, a wrong rate, a redirect), and the audio checks run on recordings.

#![allow(dead_code)]

use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

/// The speech prompt A plays: "Please leave your message after the tone…" (8 kHz, 5.65 s).
pub const SPEECH: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/fixtures/speech-vm-intro-8k.wav"
);

/// A loopback HTTP server for prompt files.
pub struct PromptServer {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    task: tokio::task::JoinHandle<()>,
}

/// A WAV header with the given rate for `data_len` bytes of 16-bit mono samples.
pub fn wav_header(rate: u32, data_len: u32) -> Vec<u8> {
    let mut h = Vec::with_capacity(44);
    h.extend_from_slice(b"RIFF");
    h.extend_from_slice(&(36 + data_len).to_le_bytes());
    h.extend_from_slice(b"WAVEfmt ");
    h.extend_from_slice(&16u32.to_le_bytes());
    h.extend_from_slice(&1u16.to_le_bytes());
    h.extend_from_slice(&1u16.to_le_bytes());
    h.extend_from_slice(&rate.to_le_bytes());
    h.extend_from_slice(&(rate * 2).to_le_bytes());
    h.extend_from_slice(&2u16.to_le_bytes());
    h.extend_from_slice(&16u16.to_le_bytes());
    h.extend_from_slice(b"data");
    h.extend_from_slice(&data_len.to_le_bytes());
    h
}

impl PromptServer {
    /// Serves `/speech.wav`, `/big.wav` (300 000 bytes), `/slow.wav` (a byte every 100 ms),
    /// `/text.wav` (not a WAV), `/rate7000.wav` (a 7 kHz WAV), `/missing.wav` (404) and
    /// `/redirect?to=URL` (302).
    pub async fn start() -> PromptServer {
        let speech = std::fs::read(SPEECH).expect("speech fixture");
        let mut rate7000 = wav_header(7000, 1400);
        rate7000.resize(44 + 1400, 0);
        let mut big = wav_header(16_000, 300_000 - 44);
        big.resize(300_000, 0);
        let app = Router::new()
            .route(
                "/speech.wav",
                get(move || {
                    let speech = speech.clone();
                    async move { ([(header::CONTENT_TYPE, "audio/wav")], speech) }
                }),
            )
            .route("/big.wav", get(move || std::future::ready(big.clone())))
            .route(
                "/rate7000.wav",
                get(move || std::future::ready(rate7000.clone())),
            )
            .route("/text.wav", get(|| async { "this is not audio" }))
            .route("/missing.wav", get(|| async { StatusCode::NOT_FOUND }))
            .route("/slow.wav", get(slow))
            .route("/redirect", get(redirect));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        PromptServer {
            base: format!("http://127.0.0.1:{port}"),
            task,
        }
    }

    /// `base` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

impl Drop for PromptServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn slow() -> Response {
    let stream = async_stream(wav_header(16_000, 32_000));
    Response::builder()
        .header(header::CONTENT_TYPE, "audio/wav")
        .body(Body::from_stream(stream))
        .unwrap()
}

/// The header, then one zero byte every 100 ms for a minute.
fn async_stream(
    header: Vec<u8>,
) -> impl futures_util::Stream<Item = Result<Vec<u8>, std::io::Error>> {
    futures_util::stream::unfold(0u32, move |i| {
        let header = header.clone();
        async move {
            if i >= 600 {
                return None;
            }
            if i > 0 {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            let chunk = if i == 0 { header } else { vec![0u8] };
            Some((Ok(chunk), i + 1))
        }
    })
}

async fn redirect(
    axum::extract::Query(q): axum::extract::Query<std::collections::HashMap<String, String>>,
) -> Response {
    (
        StatusCode::FOUND,
        [(header::LOCATION, q.get("to").cloned().unwrap_or_default())],
    )
        .into_response()
}

/// Mono 16-bit samples and rate of a WAV file.
pub fn read_wav(bytes: &[u8]) -> (Vec<i16>, u32) {
    let reader = hound::WavReader::new(std::io::Cursor::new(bytes)).expect("a WAV file");
    let spec = reader.spec();
    assert_eq!(spec.channels, 1);
    assert_eq!(spec.bits_per_sample, 16);
    let samples = reader.into_samples::<i16>().map(|s| s.unwrap()).collect();
    (samples, spec.sample_rate)
}

/// Frame levels in dB over 20 ms frames.
pub fn envelope(samples: &[i16], rate: u32) -> Vec<f64> {
    let frame = (rate / 50) as usize;
    samples
        .chunks(frame)
        .map(|f| {
            let energy: f64 = f.iter().map(|&s| f64::from(s) * f64::from(s)).sum();
            10.0 * (energy / f.len() as f64 + 1.0).log10()
        })
        .collect()
}

/// The best normalised correlation of `probe` anywhere inside `haystack`.
pub fn best_correlation(haystack: &[f64], probe: &[f64]) -> f64 {
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let mut best = f64::MIN;
    for lag in 0..=haystack.len().saturating_sub(probe.len()) {
        let h = &haystack[lag..(lag + probe.len()).min(haystack.len())];
        let p = &probe[..h.len()];
        let (mh, mp) = (mean(h), mean(p));
        let (mut num, mut dh, mut dp) = (0.0, 0.0, 0.0);
        for (x, y) in h.iter().zip(p) {
            num += (x - mh) * (y - mp);
            dh += (x - mh) * (x - mh);
            dp += (y - mp) * (y - mp);
        }
        if dh > 0.0 && dp > 0.0 {
            best = best.max(num / (dh * dp).sqrt());
        }
    }
    best
}

/// RMS level of samples in dBFS.
pub fn rms_dbfs(samples: &[i16]) -> f64 {
    let energy: f64 = samples.iter().map(|&s| f64::from(s) * f64::from(s)).sum();
    10.0 * (energy / samples.len().max(1) as f64 / (32768.0 * 32768.0) + 1e-12).log10()
}
