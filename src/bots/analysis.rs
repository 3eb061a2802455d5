//! Speech analysis of a recorded clip: POSTed as a WAV to a configured service, whose JSON
//! answer the flow branches on; or the built-in `energy` classifier the demo uses. A slow or
//! failing service is an error after its timeout, which the flow turns into `on_failure`.

use std::time::Duration;

use serde_json::{Value, json};

use super::flow::{AnalysisKind, AnalysisService};

/// Loudness above which the built-in classifier calls a message `negative` (shouting).
const LOUD_DBFS: f64 = -12.0;
/// Messages shorter than this are `short` for the built-in classifier.
const SHORT_SECONDS: f64 = 2.0;

/// Why an analysis gave no result.
#[derive(Debug, thiserror::Error)]
pub enum AnalysisError {
    /// The service took longer than its `timeout_ms`.
    #[error("analysis service '{service}' did not answer within {timeout:?}")]
    Timeout {
        /// The service's `name` in its `[[analysis]]` entry.
        service: String,
        /// The time the service was allowed (its `timeout_ms`).
        timeout: Duration,
    },
    /// The service could not be reached or answered with an error status.
    #[error("analysis service '{service}': {detail}")]
    Failed {
        /// The service's `name` in its `[[analysis]]` entry.
        service: String,
        /// What went wrong.
        detail: String,
    },
    /// The answer was not a JSON object.
    #[error(
        "analysis service '{service}' answered {body:?}, which is not a JSON object such as {{\"intent\":\"billing\"}}"
    )]
    NotAnObject {
        /// The service's `name` in its `[[analysis]]` entry.
        service: String,
        /// The first 200 characters of what the service answered.
        body: String,
    },
}

/// Analyses `wav` with `service`.
pub async fn analyse(
    http: &reqwest::Client,
    service: &AnalysisService,
    wav: Vec<u8>,
) -> Result<Value, AnalysisError> {
    match &service.kind {
        AnalysisKind::BuiltinEnergy => Ok(classify_energy(&wav)),
        AnalysisKind::Url(url) => {
            let request = post(http, service, url, wav);
            match tokio::time::timeout(service.timeout, request).await {
                Ok(result) => result,
                Err(_) => Err(AnalysisError::Timeout {
                    service: service.name.clone(),
                    timeout: service.timeout,
                }),
            }
        }
    }
}

async fn post(
    http: &reqwest::Client,
    service: &AnalysisService,
    url: &str,
    wav: Vec<u8>,
) -> Result<Value, AnalysisError> {
    let failed = |detail: String| AnalysisError::Failed {
        service: service.name.clone(),
        detail,
    };
    let mut request = http
        .post(url)
        .header("content-type", "audio/wav")
        .header("accept", "application/json")
        .body(wav);
    for (name, value) in &service.headers {
        request = request.header(name, value);
    }
    let response = request
        .send()
        .await
        .map_err(|e| failed(format!("POST {url}: {e}")))?;
    let status = response.status();
    let body = response
        .text()
        .await
        .map_err(|e| failed(format!("reading the answer of {url}: {e}")))?;
    if !status.is_success() {
        return Err(failed(format!(
            "POST {url} answered {status}: {}",
            truncate(&body)
        )));
    }
    match serde_json::from_str::<Value>(&body) {
        Ok(value @ Value::Object(_)) => Ok(value),
        _ => Err(AnalysisError::NotAnObject {
            service: service.name.clone(),
            body: truncate(&body),
        }),
    }
}

fn truncate(text: &str) -> String {
    text.chars().take(200).collect()
}

/// The built-in classifier: `intent` is `short` under two seconds of audio, else `message`;
/// `sentiment` is `negative` when the clip is loud (shouting), else `neutral`. Also reports
/// `seconds` and `level_dbfs`. Good enough to show branching in the demo, nothing more.
pub fn classify_energy(wav: &[u8]) -> Value {
    let Ok(reader) = hound::WavReader::new(std::io::Cursor::new(wav)) else {
        return json!({"intent": "unknown", "sentiment": "neutral", "seconds": 0.0});
    };
    let spec = reader.spec();
    let samples: Vec<i16> = reader.into_samples::<i16>().map_while(Result::ok).collect();
    let per_second = f64::from(spec.sample_rate) * f64::from(spec.channels.max(1));
    let seconds = if per_second > 0.0 {
        samples.len() as f64 / per_second
    } else {
        0.0
    };
    let level = rms_dbfs(&samples);
    json!({
        "intent": if seconds < SHORT_SECONDS { "short" } else { "message" },
        "sentiment": if level > LOUD_DBFS { "negative" } else { "neutral" },
        "seconds": (seconds * 100.0).round() / 100.0,
        "level_dbfs": (level * 10.0).round() / 10.0,
    })
}

fn rms_dbfs(samples: &[i16]) -> f64 {
    if samples.is_empty() {
        return -120.0;
    }
    let mean = samples
        .iter()
        .map(|&s| f64::from(s) * f64::from(s))
        .sum::<f64>()
        / samples.len() as f64;
    let rms = mean.sqrt() / f64::from(i16::MAX);
    if rms <= 0.0 {
        -120.0
    } else {
        20.0 * rms.log10()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wav(seconds: f64, amplitude: f64) -> Vec<u8> {
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: 16_000,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut out = std::io::Cursor::new(Vec::new());
        let mut writer = hound::WavWriter::new(&mut out, spec).unwrap();
        for i in 0..(16_000.0 * seconds) as usize {
            let v = amplitude * (i as f64 * 0.2).sin() * f64::from(i16::MAX);
            writer.write_sample(v as i16).unwrap();
        }
        writer.finalize().unwrap();
        out.into_inner()
    }

    #[test]
    fn the_energy_classifier_tells_short_loud_and_calm_messages_apart() {
        let short = classify_energy(&wav(1.0, 0.05));
        assert_eq!(short["intent"], "short");
        assert_eq!(short["sentiment"], "neutral");
        let loud = classify_energy(&wav(3.0, 0.9));
        assert_eq!(loud["intent"], "message");
        assert_eq!(loud["sentiment"], "negative");
        assert_eq!(loud["seconds"], 3.0);
        assert_eq!(classify_energy(b"not a wav")["intent"], "unknown");
    }
}
