//! The receiver's parameters, with the values of `dtmf-requirements.md` as defaults, and the
//! translation of the millisecond timings into the whole numbers of analysis windows the detector
//! counts.

use super::timing::{self, WindowCounts};

/// Parameters of a [`ToneDetector`](super::ToneDetector). `Default` meets every row of the
/// requirements table; change a field only to trade one requirement against another.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DetectorConfig {
    /// Input sample rate in Hz: 8000 or 16000.
    pub sample_rate: u32,
    /// Floor: each of the two tones must be at least this loud, in dBm0. Default −45 dBm0, so
    /// −30 dBm0 tones are found with 15 dB to spare and AT&T's −55 dBm0 is always rejected.
    pub min_level_dbm0: f32,
    /// Lowest accepted twist (high-group level minus low-group level), in dB. Default −10 dB:
    /// the required −8 dB plus room for the level measurement's spread (the stronger tone leaks
    /// into the weaker one's bin and moves its measured level by up to about 1 dB), which
    /// leaves the same 0.9 dB margin as the +4 dB side.
    pub min_twist_db: f32,
    /// Highest accepted twist (high-group level minus low-group level), in dB. Default +5.5 dB:
    /// the required +4 dB plus room for the level measurement's spread.
    pub max_twist_db: f32,
    /// Largest accepted frequency deviation of either tone, in percent of its nominal frequency.
    /// Default 2.5 %: the middle of the required accept (±1.5 %) and reject (±3.5 %) limits.
    pub max_frequency_deviation_pct: f32,
    /// Smallest share of a window's energy above the background noise floor the two tones must
    /// carry. Default 0.85. It is also what makes a window that the tone only partly covers
    /// fail, so it sets the timing edges (in noise as in silence).
    pub min_tone_energy_ratio: f32,
    /// Smallest share of a window's whole energy, background noise included, the two tones must
    /// carry. Default 0.7: tones are found down to about 6 dB S/N, and however loud the
    /// background, most of a window must be tone. Set it equal to `min_tone_energy_ratio` to
    /// ignore the noise floor.
    pub min_raw_tone_energy_ratio: f32,
    /// Each group's strongest tone must exceed the group's second strongest by this much, in dB.
    /// Default 6 dB.
    pub min_group_margin_db: f32,
    /// Nominal shortest tone, in ms: tones clearly shorter are rejected, clearly longer accepted
    /// (the edge is within ±2 ms at any alignment). Default 26 ms: between the required 23 ms
    /// reject and 40 ms accept, as low as the latency target wants.
    pub min_on_ms: f32,
    /// Longest drop-out inside one tone that must be bridged, in ms. Default 10 ms.
    pub max_dropout_ms: f32,
    /// Shortest pause that must separate two presses of the same key, in ms. Default 40 ms.
    pub min_pause_ms: f32,
}

impl Default for DetectorConfig {
    fn default() -> Self {
        DetectorConfig {
            sample_rate: 8000,
            min_level_dbm0: -45.0,
            min_twist_db: -10.0,
            max_twist_db: 5.5,
            max_frequency_deviation_pct: 2.5,
            min_tone_energy_ratio: 0.85,
            min_raw_tone_energy_ratio: 0.7,
            min_group_margin_db: 6.0,
            min_on_ms: 26.0,
            max_dropout_ms: 10.0,
            min_pause_ms: 40.0,
        }
    }
}

impl DetectorConfig {
    /// The default configuration at `sample_rate` Hz.
    pub fn at_rate(sample_rate: u32) -> Self {
        DetectorConfig {
            sample_rate,
            ..DetectorConfig::default()
        }
    }

    /// Checks every field and derives the window counts; the error names the field, the value and
    /// what is allowed.
    pub(crate) fn validate(&self) -> Result<WindowCounts, ConfigError> {
        if self.sample_rate != 8000 && self.sample_rate != 16000 {
            return Err(ConfigError::SampleRate {
                rate: self.sample_rate,
            });
        }
        check("min_level_dbm0", self.min_level_dbm0, -60.0, 0.0)?;
        check("min_twist_db", self.min_twist_db, -20.0, 0.0)?;
        check("max_twist_db", self.max_twist_db, 0.0, 20.0)?;
        check(
            "max_frequency_deviation_pct",
            self.max_frequency_deviation_pct,
            0.5,
            6.0,
        )?;
        check(
            "min_tone_energy_ratio",
            self.min_tone_energy_ratio,
            0.6,
            0.98,
        )?;
        check(
            "min_raw_tone_energy_ratio",
            self.min_raw_tone_energy_ratio,
            0.5,
            self.min_tone_energy_ratio,
        )?;
        check("min_group_margin_db", self.min_group_margin_db, 0.0, 20.0)?;
        check("min_on_ms", self.min_on_ms, 16.0, 200.0)?;
        check("max_dropout_ms", self.max_dropout_ms, 0.0, 40.0)?;
        check("min_pause_ms", self.min_pause_ms, 10.0, 500.0)?;
        let counts = timing::window_counts(self);
        let separates = counts.always_separated_ms();
        if separates > self.min_pause_ms {
            return Err(ConfigError::PauseTooShort {
                min_pause_ms: self.min_pause_ms,
                max_dropout_ms: self.max_dropout_ms,
                needed_ms: separates,
            });
        }
        Ok(counts)
    }
}

fn check(field: &'static str, value: f32, min: f32, max: f32) -> Result<(), ConfigError> {
    if value.is_finite() && (min..=max).contains(&value) {
        Ok(())
    } else {
        Err(ConfigError::OutOfRange {
            field,
            value,
            min,
            max,
        })
    }
}

/// A [`DetectorConfig`] the detector cannot run with.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The input rate is not one the detector analyses.
    #[error(
        "sample rate {rate} Hz is not supported by the DTMF detector; allowed are 8000 and 16000 Hz (resample other rates first)"
    )]
    SampleRate {
        /// The rejected rate in Hz.
        rate: u32,
    },
    /// A field is outside its allowed range (or not a number).
    #[error("{field} = {value} is out of range; allowed is {min} to {max}")]
    OutOfRange {
        /// The field's name in [`DetectorConfig`].
        field: &'static str,
        /// The value given, in the field's own unit.
        value: f32,
        /// Smallest allowed value.
        min: f32,
        /// Largest allowed value.
        max: f32,
    },
    /// Bridging `max_dropout_ms` needs more consecutive misses than a `min_pause_ms` pause is
    /// guaranteed to produce.
    #[error(
        "min_pause_ms = {min_pause_ms} is too short to separate digits while bridging drop-outs of max_dropout_ms = {max_dropout_ms}; it must be at least {needed_ms:.1} ms"
    )]
    PauseTooShort {
        /// The configured shortest separating pause.
        min_pause_ms: f32,
        /// The configured longest bridged drop-out.
        max_dropout_ms: f32,
        /// The shortest pause that is always separated with these settings.
        needed_ms: f32,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_at_both_rates() {
        assert!(DetectorConfig::default().validate().is_ok());
        assert!(DetectorConfig::at_rate(16000).validate().is_ok());
    }

    #[test]
    fn errors_name_the_field_the_value_and_the_range() {
        let err = DetectorConfig::at_rate(44_100).validate().unwrap_err();
        assert_eq!(err, ConfigError::SampleRate { rate: 44_100 });
        assert!(err.to_string().contains("44100 Hz"));

        let config = DetectorConfig {
            min_twist_db: 3.0,
            ..DetectorConfig::default()
        };
        assert_eq!(
            config.validate().unwrap_err().to_string(),
            "min_twist_db = 3 is out of range; allowed is -20 to 0"
        );

        let config = DetectorConfig {
            min_tone_energy_ratio: f32::NAN,
            ..DetectorConfig::default()
        };
        assert!(matches!(
            config.validate(),
            Err(ConfigError::OutOfRange {
                field: "min_tone_energy_ratio",
                ..
            })
        ));
    }

    #[test]
    fn a_pause_that_cannot_be_told_from_a_bridged_dropout_is_rejected() {
        let config = DetectorConfig {
            max_dropout_ms: 20.0,
            min_pause_ms: 15.0,
            ..DetectorConfig::default()
        };
        match config.validate() {
            Err(ConfigError::PauseTooShort { needed_ms, .. }) => assert!(needed_ms > 20.0),
            other => panic!("expected PauseTooShort, got {other:?}"),
        }
    }
}
