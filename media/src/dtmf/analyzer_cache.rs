//! The cache of window analyzers shared between detectors with the same configuration. It takes
//! a lock, so it lives apart from the per-frame code: detectors use it at construction only.

use std::sync::{Arc, Mutex};

use super::DetectorConfig;
use super::analysis::WindowAnalyzer;

/// Analyzers shared by every detector with the same configuration: the constants are read
/// every window, and one copy for a thousand channels stays in cache where a thousand copies
/// would not. Bounded, so a program that builds detectors with ever new settings does not grow it.
static SHARED: Mutex<Vec<Arc<WindowAnalyzer>>> = Mutex::new(Vec::new());

/// Most configurations [`SHARED`] holds; beyond that, detectors get an analyzer of their own.
const MAX_SHARED: usize = 16;

/// The analyzer for `config` (validated), shared with every detector built with the same
/// configuration. Takes a lock: for construction, never for the per-frame path.
pub(crate) fn shared_analyzer(config: &DetectorConfig) -> Arc<WindowAnalyzer> {
    // A poisoned cache only means another thread panicked while holding it; its content is
    // still a list of complete analyzers.
    let mut shared = SHARED.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(a) = shared.iter().find(|a| a.config == *config) {
        return Arc::clone(a);
    }
    let analyzer = Arc::new(WindowAnalyzer::new(config));
    if shared.len() < MAX_SHARED {
        shared.push(Arc::clone(&analyzer));
    }
    analyzer
}
