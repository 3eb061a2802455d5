//! Where prompts come from: `mediaInfo.uri` fetched over http(s) (see [`super::fetch`]),
//! `mediaInfo.resourceId` looked up in the configured prompts folder, and sendDtmfTones keys
//! synthesised. Everything is decoded, resampled and encoded once, off the worker threads, into
//! one shared [`PromptCache`] keyed by URI (a resourceId given with a URI becomes an alias of it,
//! as Graph's `preFetchMedia` cache keys are).

use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use switchboard_media::dtmf::Digit;
use switchboard_media::dtmf::generator::{ToneShape, digit_sequence};
use switchboard_media::prompt::tone::{DTMF_LEVEL_DBM0, DTMF_ON_MS};
use switchboard_media::{Prompt, PromptCache};

use super::command::PromptFailure;
use super::fetch::PromptFetcher;
use super::settings::PromptSettings;
use crate::calls::result_codes::ResultCode;
use crate::calls::validate::PromptSource;

/// The shared prompt cache with its bookkeeping.
struct Cached {
    cache: PromptCache,
    /// Keys in the order they were added, for dropping the oldest.
    order: VecDeque<String>,
    /// resourceId → the key it names.
    aliases: HashMap<String, String>,
    max: usize,
}

impl Cached {
    fn lookup(&self, source: &PromptSource) -> Option<Arc<Prompt>> {
        if let Some(uri) = &source.uri {
            return self.cache.get(uri);
        }
        let id = source.resource_id.as_deref()?;
        match self.aliases.get(id) {
            Some(key) => self.cache.get(key),
            None => self.cache.get(&resource_key(id)),
        }
    }

    fn added(&mut self, key: &str, alias: Option<&str>) {
        if let Some(id) = alias {
            self.aliases.insert(id.to_owned(), key.to_owned());
        }
        if self.order.iter().any(|k| k == key) {
            return;
        }
        self.order.push_back(key.to_owned());
        while self.order.len() > self.max {
            if let Some(old) = self.order.pop_front() {
                self.cache.remove(&old);
                self.aliases.retain(|_, k| *k != old);
            }
        }
    }
}

fn resource_key(id: &str) -> String {
    format!("resource:{id}")
}

/// Prompts for every worker: resolving, fetching and caching.
pub struct PromptLibrary {
    cached: Arc<Mutex<Cached>>,
    fetcher: PromptFetcher,
    dir: PathBuf,
    max_bytes: u64,
    beep: Arc<Prompt>,
}

impl std::fmt::Debug for PromptLibrary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PromptLibrary")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

impl PromptLibrary {
    /// A library with `settings`' folder, limits and cache size.
    pub fn new(settings: &PromptSettings) -> Result<PromptLibrary, String> {
        let cache = PromptCache::new().map_err(|e| format!("prompt cache: {e}"))?;
        let beep = cache.beep();
        Ok(PromptLibrary {
            cached: Arc::new(Mutex::new(Cached {
                cache,
                order: VecDeque::new(),
                aliases: HashMap::new(),
                max: settings.cache_max_prompts,
            })),
            fetcher: PromptFetcher::new(settings)?,
            dir: settings.dir.clone(),
            max_bytes: settings.max_bytes,
            beep,
        })
    }

    /// The record beep.
    pub fn beep(&self) -> Arc<Prompt> {
        self.beep.clone()
    }

    /// Every prompt of `sources` if all are cached, without waiting for the cache's lock (a
    /// prompt being encoded holds it): the path that lets a cached prompt start on the next tick.
    pub fn cached(&self, sources: &[PromptSource]) -> Option<Vec<Arc<Prompt>>> {
        let cached = self.cached.try_lock().ok()?;
        sources.iter().map(|s| cached.lookup(s)).collect()
    }

    /// The keys for `tones` with `delay` between them, if cached (never waits).
    pub fn cached_dtmf(&self, tones: &[Digit], delay: Duration) -> Option<Arc<Prompt>> {
        self.cached
            .try_lock()
            .ok()?
            .cache
            .get(&dtmf_key(tones, delay))
    }

    /// Every prompt of `sources`, in order, fetching and encoding what is not cached. The
    /// failure names the prompt (`prompts[i]`), what was wrong and what is allowed.
    pub async fn resolve(
        &self,
        field: &str,
        sources: &[PromptSource],
    ) -> Result<Vec<Arc<Prompt>>, PromptFailure> {
        let mut prompts = Vec::with_capacity(sources.len());
        for (i, source) in sources.iter().enumerate() {
            let name = if sources.len() == 1 && field != "prompts" {
                field.to_owned()
            } else {
                format!("{field}[{i}]")
            };
            prompts.push(self.resolve_one(source).await.map_err(|detail| {
                metrics::counter!(crate::metrics::MEDIA_PROMPT_FAILURES).increment(1);
                PromptFailure {
                    result: ResultCode::MediaUnusable,
                    detail: format!("{name}: {detail}"),
                }
            })?);
        }
        Ok(prompts)
    }

    async fn resolve_one(&self, source: &PromptSource) -> Result<Arc<Prompt>, String> {
        if let Some(prompt) = self.lock().lookup(source) {
            return Ok(prompt);
        }
        let (key, bytes) = match (&source.uri, &source.resource_id) {
            (Some(uri), _) => (uri.clone(), self.fetcher.fetch(uri).await.map_err(|e| e.0)?),
            (None, Some(id)) => (resource_key(id), self.read_resource(id).await?),
            (None, None) => return Err("a mediaInfo needs a uri or a resourceId".into()),
        };
        let alias = source.uri.as_ref().and(source.resource_id.clone());
        let cached = self.cached.clone();
        let origin = source
            .uri
            .clone()
            .or_else(|| source.resource_id.clone())
            .unwrap_or_default();
        // Decoding, resampling and encoding cost milliseconds per second of audio: keep it off
        // the async threads as well as off the media workers.
        tokio::task::spawn_blocking(move || {
            let mut cached = cached.lock().unwrap_or_else(|p| p.into_inner());
            let prompt = cached
                .cache
                .load_wav(&key, &bytes)
                .map_err(|e| unusable_audio(&origin, &e))?;
            cached.added(&key, alias.as_deref());
            Ok(prompt)
        })
        .await
        .map_err(|e| format!("encoding the prompt failed: {e}"))?
    }

    /// The keys as one prompt: each tone [`DTMF_ON_MS`] long at [`DTMF_LEVEL_DBM0`], `delay`
    /// apart, synthesised and encoded once per distinct key string and delay.
    pub async fn dtmf(
        &self,
        tones: &[Digit],
        delay: Duration,
    ) -> Result<Arc<Prompt>, PromptFailure> {
        let key = dtmf_key(tones, delay);
        let cached = self.cached.clone();
        let tones = tones.to_vec();
        let failure = |detail: String| PromptFailure {
            result: ResultCode::OperationMediaFailure,
            detail,
        };
        tokio::task::spawn_blocking(move || {
            let mut cached = cached.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(prompt) = cached.cache.get(&key) {
                return Ok(prompt);
            }
            let shape = ToneShape::at_level(DTMF_LEVEL_DBM0);
            let pcm = digit_sequence(
                Prompt::SAMPLE_RATE,
                &tones,
                &shape,
                DTMF_ON_MS,
                delay.as_secs_f32() * 1000.0,
            )
            .map_err(|e| failure(format!("synthesising the tones: {e}")))?;
            let prompt = cached
                .cache
                .insert_pcm(&key, &pcm)
                .map_err(|e| failure(format!("encoding the tones: {e}")))?;
            cached.added(&key, None);
            Ok(prompt)
        })
        .await
        .map_err(|e| failure(format!("encoding the tones failed: {e}")))?
    }

    async fn read_resource(&self, id: &str) -> Result<Vec<u8>, String> {
        let valid = !id.is_empty()
            && id.len() <= 200
            && !id.starts_with('.')
            && id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
        if !valid {
            return Err(format!(
                "resourceId '{id}' is not cached and is not a file name; allowed: letters, digits, \
                 '.', '_' and '-', naming a file in the prompts folder"
            ));
        }
        if self.dir.as_os_str().is_empty() {
            return Err(format!(
                "resourceId '{id}' is not a cached prompt, and no prompts folder is configured \
                 (media.prompts.dir); give a mediaInfo.uri"
            ));
        }
        for candidate in [self.dir.join(id), self.dir.join(format!("{id}.wav"))] {
            if let Ok(meta) = tokio::fs::metadata(&candidate).await
                && meta.is_file()
            {
                if meta.len() > self.max_bytes {
                    return Err(format!(
                        "{} is {} bytes; prompts may be at most {} bytes (media.prompts.max_bytes)",
                        display(&candidate),
                        meta.len(),
                        self.max_bytes
                    ));
                }
                return tokio::fs::read(&candidate)
                    .await
                    .map_err(|e| format!("reading {}: {e}", display(&candidate)));
            }
        }
        Err(format!(
            "resourceId '{id}' is not cached and the prompts folder has no file '{id}' or '{id}.wav'"
        ))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Cached> {
        self.cached.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Prompts in the cache (the beep included).
    pub fn len(&self) -> usize {
        self.lock().cache.len()
    }

    /// Whether the cache holds nothing (never: the beep is always there).
    pub fn is_empty(&self) -> bool {
        self.lock().cache.is_empty()
    }
}

fn display(path: &Path) -> String {
    path.display().to_string()
}

fn dtmf_key(tones: &[Digit], delay: Duration) -> String {
    let keys: String = tones.iter().map(|d| d.as_char()).collect();
    format!("dtmf:{keys}@{}ms", delay.as_millis())
}

/// Words for a file the prompt cache refused: what was wrong, what is allowed.
fn unusable_audio(origin: &str, error: &switchboard_media::prompt::PromptError) -> String {
    use switchboard_media::prompt::PromptError;
    match error {
        PromptError::Wav { source, .. } => format!("'{origin}' is not usable audio: {source}"),
        other => format!("'{origin}' could not be prepared: {other}"),
    }
}
